/**
 * Real workloads through a whole devnet (dev chain, providers, solvers, a mediator, each its own
 * process): a job longer than the old fixed two-minute submit window, whose window comes from the
 * module's timeout and margins; and a module whose image is named by a tag in a registry on
 * loopback, pinned to its digest when the job is offered; and hostile modules, each contained.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { computeAddress } from 'ethers'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { SettlementClient } from '../../../src/settlement/client.ts'
import { lockedBy, settle } from '../../../src/state-machines/settle.ts'
import { createModuleRepo, ensureCowsayImage } from '../../../src/cli/demo/demo-modules.ts'
import { JobError, type JobResult, type RunJobOptions } from '../../../src/node/jobs/job-client.ts'
import { SUBMIT_MARGINS_MS } from '../../../src/node/jobs/submit-window.ts'
import { startE2eNetwork, type E2eNetwork } from '../network/e2e-network.ts'
import { forgetImages, pushImage, startRegistry, type LoopbackRegistry } from '../../support/registry.ts'
import { creatorDeals, readLog } from '../network/node-logs.ts'
import { lilypad } from '../network/cli.ts'
import { RUN_EXIT } from '../../../src/cli/commands/run.ts'
import { cidOfBytes, cidOfPath } from '../../../src/executor/results/cid.ts'
import { SCHEMES_ENV } from '../../../src/executor/modules/sources.ts'
import { compileWat } from '../../../scripts/build-cowsay-wasm.ts'
import type { JobCreatorContext } from '../../../src/state-machines/job-creator.machine.ts'
import { growerWat } from '../../support/wasm-grower.ts'

const RUNS_FOR_S = 125
const TIMEOUT_S = 150
const MARGINS_MS = SUBMIT_MARGINS_MS.pull + SUBMIT_MARGINS_MS.fetch + SUBMIT_MARGINS_MS.commit
const MiB = 1024 * 1024
const PROVIDERS = ['provider-1', 'provider-2']
/** each provider's slot memory (OFFER_RAM): small, so a memory hog reaches it within a second */
const SLOT_RAM_MB = 256
/** what the memory hog asks for at once: three slots (were Memory "0" unlimited, it would get them) */
const HOG_MB = 3 * SLOT_RAM_MB

/** A WASI command that writes "go", then grows its linear memory a MiB at a time until a grow is refused, and traps. */
const GROWER_WAT = growerWat({ memory: '1', pagesPerGrow: 16, onFull: 'unreachable' })

function sleeperTemplate (image: string): string {
  return JSON.stringify({
    machine: { gpu: 0, cpu: 500, ram: 64 },
    job: {
      APIVersion: 'V1beta1',
      Spec: {
        Engine: 'Docker',
        Timeout: TIMEOUT_S,
        Docker: { Image: image, Entrypoint: ['/bin/sh', '-c', `sleep ${RUNS_FOR_S} && echo slept ${RUNS_FOR_S}`] },
        Resources: { CPU: '0.5', Memory: '64Mi' }
      }
    }
  })
}

describe('workloads', () => {
  let net: E2eNetwork
  let chain: SettlementClient
  let registry: LoopbackRegistry

  beforeAll(async () => {
    registry = await startRegistry()
    net = await startE2eNetwork({ providers: PROVIDERS.length, nodeConfig: Object.fromEntries(PROVIDERS.map(name => [name, { offerRam: SLOT_RAM_MB }])) })
    const { info } = net.devnet
    chain = await SettlementClient.open({ rpcUrl: info.rpcUrl, privateKey: info.jobCreatorKey, settlementAddress: info.settlementAddress })
  }, 300_000)

  afterAll(async () => {
    await chain?.close()
    await net?.stop()
    await registry?.stop()
  }, 60_000)

  it('runs a module whose image is named by a tag: pinned when offered, pulled by digest by the provider, paid', async () => {
    const name = `${registry.host}/lilypad-e2e/message`
    const digest = await pushImage(`${name}:v1`, 'pulled by digest\n')
    await forgetImages(name)
    const repo = await createModuleRepo('cowsay', {
      into: join(net.root, 'modules', 'tagged'),
      files: {
        'lilypad_module.json.tmpl': JSON.stringify({
          machine: { gpu: 0, cpu: 500, ram: 64 },
          job: { APIVersion: 'V1beta1', Spec: { Engine: 'Docker', Timeout: 30, Docker: { Image: `${name}:v1`, Entrypoint: ['/bin/cat', '/message'] } } }
        })
      }
    })
    const dataDir = await net.jobDir('tagged')
    const result = await net.runModule(`${repo.path}:${repo.tag}`, {}, { dataDir })
    expect(result).toMatchObject({ outcome: 'Accepted', settled: true })
    expect(result.stdout).toBe('pulled by digest\n')
    const creatorLog = await readLog('job creator', join(dataDir, 'log'))
    const [job] = [...creatorLog.contexts].filter(([stream]) => stream.startsWith('job:')).map(([, c]) => c as JobCreatorContext)
    expect(job!.job.image).toBe(`${name}@${digest}`)
    expect(creatorDeals(creatorLog).map(d => d.jobOfferId)).toEqual([job!.jobOfferId])

    // and again later, over HTTP from the provider's results gateway, verified by CID
    const provider = net.devnet.info.nodes.find(n => n.address === result.provider)
    expect(provider?.results).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const out = join(net.root, 'fetched-again')
    const again = await lilypad(['results', 'get', result.resultsCid!, '--from', provider!.results!, '--out', out])
    expect(again.code).toBe(0)
    expect(await readFile(join(out, 'stdout'), 'utf8')).toBe('pulled by digest\n')
    expect((await cidOfPath(out)).toString()).toBe(result.resultsCid)
    await net.auditEverything()
  }, 180_000)

  it('contains hostile modules (a disk filler, a stdout flood, a fork bomb, a memory hog, a WASM module growing its memory): each is paid as a result, and the provider serves the next job', async () => {
    const image = await ensureCowsayImage()
    const hostile = async (name: string, script: string, resources: Record<string, string> = {}): Promise<string> => {
      const repo = await createModuleRepo('cowsay', {
        into: join(net.root, 'modules', name),
        files: {
          'lilypad_module.json.tmpl': JSON.stringify({
            machine: { gpu: 0, cpu: 500, ram: 64 },
            job: { APIVersion: 'V1beta1', Spec: { Engine: 'Docker', Timeout: 60, Docker: { Image: image, Entrypoint: ['/bin/sh', '-c', script] }, Resources: { CPU: '0.5', Memory: '64Mi', ...resources } } }
          })
        }
      })
      return `${repo.path}:${repo.tag}`
    }
    const wasmGrower = async (name: string): Promise<string> => {
      const source = join(net.root, `${name}.wat`)
      await writeFile(source, GROWER_WAT)
      const wasm = await compileWat(source)
      const repo = await createModuleRepo('cowsay-wasm', {
        into: join(net.root, 'modules', name),
        files: {
          'grow.wasm': wasm,
          'lilypad_module.json.tmpl': JSON.stringify({
            machine: { gpu: 0, cpu: 500, ram: 64 },
            job: {
              APIVersion: 'V1beta1',
              Spec: {
                Engine: 'Wasm',
                Timeout: 60,
                Wasm: { EntryModule: { StorageSource: 'IPFS', CID: (await cidOfBytes(wasm)).toString(), Path: 'grow.wasm' }, EntryPoint: '_start', Parameters: [] },
                Resources: { Memory: '0' }
              }
            }
          })
        }
      })
      return `${repo.path}:${repo.tag}`
    }
    const provider = (address: string | null): string => net.devnet.info.nodes.find(n => n.address === address)!.name
    const exitCodeOf = async (result: JobResult): Promise<string> => await readFile(join(result.resultsDir!, 'exitCode'), 'utf8')
    const cases: Array<{ name: string, module: string, options?: Partial<RunJobOptions>, outcome?: string, check?: (result: JobResult) => Promise<void> }> = [
      { name: 'disk-filler', module: await hostile('disk-filler', 'dd if=/dev/zero of=/outputs/fill bs=1M count=200; echo filled', { Disk: '8Mi' }) },
      { name: 'stdout-flood', module: await hostile('stdout-flood', 'yes flood | head -c 30000000') },
      { name: 'fork-bomb', module: await hostile('fork-bomb', 'for i in $(seq 1 2000); do sleep 5 & done; echo forked') },
      {
        // Memory "0" is the RAM the module's machine declares (64 MB), never unlimited and never the
        // size of the machine that runs it: the hog prints the limit its container got (cgroup v2,
        // else v1), then asks for more than that at once and is killed for it. The creator challenges
        // the honest results: the mediator's re-run, under the same limit, finds the provider's
        name: 'memory-hog',
        module: await hostile('memory-hog', `cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; exec dd if=/dev/zero of=/dev/null bs=${HOG_MB}M count=1`, { Memory: '0' }),
        options: { challengeHonestResults: true },
        outcome: 'MediationAccepted',
        check: async (result) => {
          expect(result.stdout).toBe(`${64 * MiB}\n`)
          expect(await exitCodeOf(result)).toBe('137')
          expect(await chain.dealRecord(result.dealId!)).toMatchObject({ state: 'Settled', outcome: 'MediationAccepted' })
        }
      },
      {
        // its memory is capped inside the module (Memory "0": the executor's cap), where a grow is
        // refused and it traps: an out-of-memory kill. The creator challenges the honest results,
        // and the mediator's re-run finds the provider's
        name: 'wasm-grower',
        module: await wasmGrower('wasm-grower'),
        options: { challengeHonestResults: true },
        outcome: 'MediationAccepted',
        check: async (result) => {
          expect(result.stdout).toBe('go\n')
          expect(await exitCodeOf(result)).toBe('137')
          expect(await chain.dealRecord(result.dealId!)).toMatchObject({ state: 'Settled', outcome: 'MediationAccepted' })
        }
      }
    ]
    const served = new Set<string>()
    for (const c of cases) {
      // a creator that re-runs the job fetches its module itself: a local repository, as the devnet's nodes may
      if (c.options?.challengeHonestResults === true) vi.stubEnv(SCHEMES_ENV, 'https,file')
      const result = await net.runModule(c.module, {}, { dataDir: await net.jobDir(c.name), ...c.options }).finally(() => vi.unstubAllEnvs())
      expect(result, c.name).toMatchObject({ outcome: c.outcome ?? 'Accepted', settled: true })
      expect(provider(result.provider), c.name).toMatch(/^provider/)
      await c.check?.(result)
      served.add(provider(result.provider))
    }
    // no hostile run took its provider down
    for (const name of served) expect(net.devnet.node(name).process.exitCode, name).toBeNull()
    const next = await net.runCowsay('still serving', { dataDir: await net.jobDir('after-hostile') })
    expect(next).toMatchObject({ outcome: 'Accepted', settled: true })
    expect(next.stdout).toContain('< still serving >')
    await net.auditEverything()
  }, 360_000)

  it('mounts input data read-only: a folder given with --inputs-path, and a file the spec names by CID, both from the creator\'s node', async () => {
    const image = await ensureCowsayImage()
    const data = join(net.root, 'input-data')
    await mkdir(join(data, 'nested'), { recursive: true })
    await writeFile(join(data, 'greeting.txt'), 'hello from the inputs\n')
    await writeFile(join(data, 'nested', 'note.txt'), 'a file named by its CID\n')
    const noteCid = (await cidOfPath(join(data, 'nested', 'note.txt'))).toString()
    const repo = await createModuleRepo('cowsay', {
      into: join(net.root, 'modules', 'reads-inputs'),
      files: {
        'lilypad_module.json.tmpl': JSON.stringify({
          machine: { gpu: 0, cpu: 500, ram: 64 },
          job: {
            APIVersion: 'V1beta1',
            Spec: {
              Engine: 'Docker',
              Timeout: 30,
              Docker: { Image: image, Entrypoint: ['/bin/sh', '-c', 'cat /inputs/greeting.txt /data/note.txt; ls /inputs; touch /inputs/x 2>/dev/null && echo writable || echo read-only'] },
              Inputs: [{ StorageSource: 'IPFS', CID: '@cid@', path: '/data/note.txt' }]
            }
          }
        // module inputs render as JSON strings, quotes and all
        }).replace('"@cid@"', '{{ .NoteCID }}')
      }
    })
    const run = await lilypad(['run', `${repo.path}:${repo.tag}`, '-i', `NoteCID=${noteCid}`, '--inputs-path', data, '--mediation-chance', '0', '--devnet-dir', join(net.root, 'devnet'), '--json'],
      { DATA_DIR: await mkdtemp(join(net.root, 'inputs-')) })
    expect(run.stderr).not.toMatch(/^\s+at /m)
    expect(run.code, run.stderr).toBe(RUN_EXIT.ok)
    const result = JSON.parse(run.stdout) as { outcome: string, settled: boolean, stdout: string }
    expect(result).toMatchObject({ outcome: 'Accepted', settled: true })
    expect(result.stdout).toBe('hello from the inputs\na file named by its CID\ngreeting.txt\nnested\nread-only\n')
  }, 180_000)

  it('pins an input named by URL when the job is offered: the provider mounts the bytes the creator downloaded, whatever the URL serves later', async () => {
    const image = await ensureCowsayImage()
    // the URL serves other bytes once it has been downloaded: the pin must hold
    let downloads = 0
    const server = createServer((req, res) => {
      if (req.url === '/data/table.csv') res.end(downloads++ === 0 ? 'pinned bytes\n' : 'other bytes\n')
      else { res.statusCode = 404; res.end() }
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const module = async (name: string, url: string): Promise<string> => {
      const repo = await createModuleRepo('cowsay', {
        into: join(net.root, 'modules', name),
        files: {
          'lilypad_module.json.tmpl': JSON.stringify({
            machine: { gpu: 0, cpu: 500, ram: 64 },
            job: { APIVersion: 'V1beta1', Spec: { Engine: 'Docker', Timeout: 30, Docker: { Image: image, Entrypoint: ['/bin/sh', '-c', 'ls /inputs; cat /inputs/table.csv'] }, Inputs: [{ StorageSource: 'urlDownload', URL: url, path: '/inputs' }] } }
          })
        }
      })
      return `${repo.path}:${repo.tag}`
    }
    try {
      const result = await net.runModule(await module('url-input', `${base}/data/table.csv`), {}, { dataDir: await net.jobDir('url-input') })
      expect(result).toMatchObject({ outcome: 'Accepted', settled: true })
      expect(result.stdout).toBe('table.csv\npinned bytes\n')
      // the creator downloaded it once; the provider fetched the pinned folder from the creator by CID
      expect(downloads).toBe(1)
      const missing = net.runModule(await module('url-missing', `${base}/gone.csv`), {}, { dataDir: await mkdtemp(join(net.root, 'url-missing-')) })
      await expect(missing).rejects.toMatchObject({ code: 'BAD_INPUT', message: `the input ${base}/gone.csv could not be downloaded to pin it: the server answered 404` })
    } finally {
      await new Promise(resolve => server.close(resolve))
    }
  }, 120_000)

  it('refuses in one line, before offering, modules no provider could take: a range bomb, a timeout of 1e9 s', async () => {
    const image = await ensureCowsayImage()
    const module = async (name: string, template: string): Promise<string> => {
      const repo = await createModuleRepo('cowsay', { into: join(net.root, 'modules', name), files: { 'lilypad_module.json.tmpl': template } })
      return `${repo.path}:${repo.tag}`
    }
    const bomb = await module('range-bomb', '{{range 9223372036854775807}}x{{end}}')
    const forever = await module('forever', JSON.stringify({
      machine: { gpu: 0, cpu: 500, ram: 64 },
      job: { APIVersion: 'V1beta1', Spec: { Engine: 'Docker', Timeout: 1e9, Docker: { Image: image, Entrypoint: ['/bin/true'] } } }
    }))
    const devnetDir = join(net.root, 'devnet')
    const started = Date.now()
    const [bombRun, foreverRun] = await Promise.all([
      // no node starts, so no log to audit: scratch folders, not job folders
      lilypad(['run', bomb, '--devnet-dir', devnetDir], { DATA_DIR: await mkdtemp(join(net.root, 'range-bomb-')) }),
      lilypad(['run', forever, '--devnet-dir', devnetDir], { DATA_DIR: await mkdtemp(join(net.root, 'forever-')) })
    ])
    expect(Date.now() - started).toBeLessThan(60_000)
    expect(bombRun.code).toBe(RUN_EXIT.badInput)
    expect(bombRun.stderr).toMatch(/^lilypad run: .*budget/m)
    expect(foreverRun.code).toBe(RUN_EXIT.badInput)
    expect(foreverRun.stderr).toMatch(/^lilypad run: the module's timeout \(604800 s\) and margins need a submit window of 605220 s, longer than a deal allows \(172800 s\)$/m)
    for (const run of [bombRun, foreverRun]) expect(run.stderr).not.toMatch(/^\s+at /m)
  }, 120_000)

  it('a job longer than two minutes gets a submit window of its timeout and margins, runs to the end, and is paid', async () => {
    const image = await ensureCowsayImage()
    const repo = await createModuleRepo('cowsay', { into: join(net.root, 'modules', 'sleeper'), files: { 'lilypad_module.json.tmpl': sleeperTemplate(image) } })
    const dataDir = await net.jobDir('long')
    const creator = computeAddress(net.devnet.info.jobCreatorKey)
    const before = await chain.balanceOf(creator)

    const started = Date.now()
    const result = await net.runModule(`${repo.path}:${repo.tag}`, {}, { dataDir })
    expect(Date.now() - started).toBeGreaterThan(RUNS_FOR_S * 1000)
    expect(result).toMatchObject({ outcome: 'Accepted', settled: true })
    expect(result.stdout).toBe(`slept ${RUNS_FOR_S}\n`)

    const [deal] = creatorDeals(await readLog('job creator', join(dataDir, 'log')))
    expect(deal!.deal.submitDeadline - deal!.deal.agreeDeadline).toBe(TIMEOUT_S * 1000 + MARGINS_MS)
    // a mediator must be able to re-run it too
    expect(deal!.deal.mediateDeadline - deal!.deal.judgeDeadline).toBe(TIMEOUT_S * 1000 + MARGINS_MS)
    expect(await chain.dealRecord(result.dealId!)).toMatchObject({ state: 'Settled', outcome: 'Accepted' })
    const { payouts } = settle(deal!.deal, { outcome: 'Accepted' })
    expect(payouts.resourceProvider - lockedBy(deal!.deal).resourceProvider).toBeGreaterThan(0n)
    expect(await chain.balanceOf(creator)).toBe(before + payouts.jobCreator - lockedBy(deal!.deal).jobCreator)
    await net.auditEverything()
  }, 600_000)

  it('a submit window shorter than the module\'s timeout is refused before anything is offered', async () => {
    const image = await ensureCowsayImage()
    const repo = await createModuleRepo('cowsay', { into: join(net.root, 'modules', 'sleeper-short'), files: { 'lilypad_module.json.tmpl': sleeperTemplate(image) } })
    const refused = net.runModule(`${repo.path}:${repo.tag}`, {}, { dataDir: await net.jobDir('short'), submitWithinMs: 60_000 })
    await expect(refused).rejects.toBeInstanceOf(JobError)
    await expect(refused).rejects.toMatchObject({ code: 'BAD_INPUT', message: `a submit window of 60 s is shorter than the module's timeout (${TIMEOUT_S} s): no provider could finish in time` })
  }, 120_000)
})
