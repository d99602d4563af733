import { createHash } from 'node:crypto'
import { mkdir, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ModuleRunner } from '../../../src/node/adapters/module-runner.ts'
import { DockerExecutor } from '../../../src/executor/docker/executor.ts'
import { loadModule } from '../../../src/executor/modules/load.ts'
import { dockerJobFromModule } from '../../../src/executor/docker/from-module.ts'
import { SCHEMES_ENV } from '../../../src/executor/modules/sources.ts'
import { cidOfPath, parseCid } from '../../../src/executor/results/cid.ts'
import type { Executors } from '../../../src/executor/results/determinism.ts'
import { writeFailedRun, type FailureCode } from '../../../src/executor/results/failed-run.ts'
import { ResultsStore } from '../../../src/executor/results/store.ts'
import { WasmExecutor } from '../../../src/executor/wasm/executor.ts'
import type { JobOffer } from '../../../src/protocols/messages/schemas.ts'
import { createCowsayRepo, createCowsayWasmRepo, createModuleRepo, ensureCowsayImage, type ModuleRepo } from '../../support/modules.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const docker = new DockerExecutor()
const stores: ResultsStore[] = []
afterEach(async () => { await Promise.all(stores.splice(0).map(s => s.close())) })

let imageId: string
beforeAll(async () => {
  // the offers here name local repositories, which a node fetches only where its operator allows them
  vi.stubEnv(SCHEMES_ENV, 'https,file')
  // no skip: CI always runs an engine, so a missing one is a failure with a clear message
  await docker.ping()
  imageId = await ensureCowsayImage()
})

afterAll(() => { vi.unstubAllEnvs() })

const WRONG_HASH = '0x' + '00'.repeat(32)
const inputs = { Message: 'moo' }

/** A node's runner with its own data folder: modules cache, results folders and blockstore. */
async function machine (executors: Executors = { docker, wasm: new WasmExecutor() }, options: { warmRuns?: boolean } = {}): Promise<{ runner: ModuleRunner, store: ResultsStore, dataDir: string }> {
  const dataDir = await tempDir()
  const store = await ResultsStore.open(dataDir)
  stores.push(store)
  return { runner: new ModuleRunner({ dataDir, ...options }, { executors, results: store }), store, dataDir }
}

async function specHashOf (repo: ModuleRepo): Promise<string> {
  return (await loadModule({ ref: `${repo.path}:${repo.commit}`, inputs, cacheDir: join(await tempDir(), 'modules') })).specHash
}

function offer (repo: ModuleRepo, specHash: string): JobOffer {
  return {
    author: '0x' + 'c1'.repeat(20), nonce: '1', expiry: 1_900_000_000_000,
    moduleRepo: repo.path, moduleCommit: repo.commit, modulePath: 'lilypad_module.json.tmpl',
    specHash, inputs: JSON.stringify(inputs), image: '', inputsCid: '', urlPins: '',
    cpu: 1000, gpu: 0, gpuVramMb: 0, ramMb: 512, diskMb: 1024,
    maxPrice: '1000', maxSolverFee: '10', paymentCollateral: '2000', timeoutCollateral: '300',
    trustedMediators: [], quorum: 1, trustedSolvers: [],
    matchDeadline: 1_900_000_030_000, agreeWithin: 10_000, submitWithin: 120_000, judgeWithin: 30_000, mediateWithin: 120_000
  }
}

/** A one-off Docker module running `script` in `image`, committed to a fresh repository. */
async function scriptModule (image: string, script: string, spec: Record<string, unknown> = {}): Promise<ModuleRepo> {
  const into = join(await tempDir(), 'module')
  await mkdir(into)
  return createModuleRepo('cowsay', {
    into,
    files: {
      'lilypad_module.json.tmpl': JSON.stringify({
        machine: { gpu: 0, cpu: 1000, ram: 100 },
        job: { APIVersion: 'V1beta1', Spec: { Engine: 'Docker', Timeout: 30, Docker: { Image: image, Entrypoint: ['/bin/sh', '-c', script] }, ...spec } }
      })
    }
  })
}

async function canonicalCid (code: FailureCode): Promise<string> {
  return (await cidOfPath(await writeFailedRun(join(await tempDir(), 'canonical'), code))).toString()
}

const signal = (): AbortSignal => new AbortController().signal
const limits = { maxDurationMs: 120_000 }

describe('runs that cannot happen', () => {
  it('a module whose offer names another spec hash gives the same failed-run CID on two machines, and prepare refuses it', async () => {
    const repo = await createCowsayRepo({ into: join(await tempDir(), 'cowsay') })
    const job = offer(repo, WRONG_HASH)
    const provider = await machine()
    const mediator = await machine()
    const ran = await provider.runner.run(job, 'run:0xd1', signal())
    const reran = await mediator.runner.run(job, 'rerun:0xd1', signal())
    expect(ran).toEqual({ resultsCid: await canonicalCid('ERR_SPEC_MISMATCH'), exitCode: 125, durationMs: 0, cpuMs: 0, failure: 'ERR_SPEC_MISMATCH' })
    expect(reran).toEqual(ran)
    expect(await provider.store.has(parseCid(ran.resultsCid))).toBe(true)

    const refused = provider.runner.prepare(job, limits, signal())
    await expect(refused).rejects.toMatchObject({ code: 'ERR_SPEC_MISMATCH' })
    await expect(refused).rejects.toThrow(`module ${repo.path}@${repo.commit} renders to spec ${await specHashOf(repo)}, the offer says ${WRONG_HASH}`)
  })

  it('prepare accepts a runnable Docker module, and refuses one whose timeout is longer than the deal leaves, or than a mediator would have', async () => {
    const repo = await createCowsayRepo({ into: join(await tempDir(), 'cowsay') })
    const job = offer(repo, await specHashOf(repo))
    const { runner } = await machine()
    await runner.prepare(job, limits, signal())
    const refused = runner.prepare(job, { maxDurationMs: 30_000 }, signal())
    await expect(refused).rejects.toMatchObject({ code: 'ERR_TIMEOUT_TOO_LONG' })
    await expect(refused).rejects.toThrow(`module ${repo.path}@${repo.commit} may run for 60 s (its timeout), longer than the 30 s the deal leaves for the run`)
    const unmediated = runner.prepare({ ...job, mediateWithin: 59_000 }, limits, signal())
    await expect(unmediated).rejects.toMatchObject({ code: 'ERR_MEDIATION_TOO_SHORT' })
    await expect(unmediated).rejects.toThrow('longer than the 59 s a mediator would have to re-run it')
  })

  it('an image that is not here and cannot be pulled: refused before signing, the same failed run after', async () => {
    const repo = await scriptModule('sha256:' + '0'.repeat(64), 'echo never')
    const job = offer(repo, await specHashOf(repo))
    const provider = await machine()
    const mediator = await machine()
    const refused = provider.runner.prepare(job, limits, signal())
    await expect(refused).rejects.toMatchObject({ code: 'ERR_IMAGE_UNAVAILABLE' })
    await expect(refused).rejects.toThrow(/image sha256:0{64} is not present in the local Docker engine/)
    const ran = await provider.runner.run(job, 'run:0xd2', signal())
    expect(ran).toMatchObject({ resultsCid: await canonicalCid('ERR_IMAGE_UNAVAILABLE'), exitCode: 125, failure: 'ERR_IMAGE_UNAVAILABLE' })
    expect((await mediator.runner.run(job, 'rerun:0xd2', signal())).resultsCid).toBe(ran.resultsCid)
  })

  it('an image named by a tag is refused before signing, and is a failed run after', async () => {
    const repo = await scriptModule('busybox:latest', 'echo never')
    const job = offer(repo, await specHashOf(repo))
    const { runner } = await machine()
    const refused = runner.prepare(job, limits, signal())
    await expect(refused).rejects.toMatchObject({ code: 'ERR_IMAGE_NOT_PINNED' })
    await expect(refused).rejects.toThrow(/image "busybox:latest" is named by a tag, and the offer pins no digest for it/)
    expect(await runner.run(job, 'run:0xd3', signal())).toMatchObject({ resultsCid: await canonicalCid('ERR_IMAGE_NOT_PINNED'), exitCode: 125 })
  })

  it('a node with no Docker engine refuses a Docker module before signing, and fails its run', async () => {
    const repo = await createCowsayRepo({ into: join(await tempDir(), 'cowsay') })
    const job = offer(repo, await specHashOf(repo))
    const { runner } = await machine({ wasm: new WasmExecutor() })
    const refused = runner.prepare(job, limits, signal())
    await expect(refused).rejects.toMatchObject({ code: 'ERR_ENGINE_UNAVAILABLE' })
    await expect(refused).rejects.toThrow('needs Docker, and this node has no Docker engine')
    expect(await runner.run(job, 'run:0xd4', signal())).toMatchObject({ resultsCid: await canonicalCid('ERR_ENGINE_UNAVAILABLE'), exitCode: 125 })
  })

  it.each([
    ['a symbolic link', 'echo partial > /outputs/a; ln -s /etc/passwd /outputs/link'],
    ['a FIFO', 'mkfifo /outputs/pipe']
  ])('%s in /outputs gives the same failed run on two machines, and again after a restart', async (_what, script) => {
    const repo = await scriptModule(imageId, script)
    const job = offer(repo, await specHashOf(repo))
    const provider = await machine()
    const mediator = await machine()
    await provider.runner.prepare(job, limits, signal())
    const ran = await provider.runner.run(job, 'run:0xd5', signal())
    expect(ran).toMatchObject({ resultsCid: await canonicalCid('ERR_OUTPUTS_REFUSED'), exitCode: 125, failure: 'ERR_OUTPUTS_REFUSED' })
    expect((await mediator.runner.run(job, 'rerun:0xd5', signal())).resultsCid).toBe(ran.resultsCid)
    expect((await provider.runner.run(job, 'run:0xd5', signal())).resultsCid).toBe(ran.resultsCid)
  })

  it('a module that fills its disk is stopped at its quota: the same failed run on two machines, and the next job runs', async () => {
    const repo = await scriptModule(imageId, 'echo partial > /outputs/a; dd if=/dev/zero of=/outputs/fill bs=1M count=100', { Resources: { Disk: '4Mi' } })
    const job = offer(repo, await specHashOf(repo))
    const provider = await machine()
    const mediator = await machine()
    await provider.runner.prepare(job, limits, signal())
    const ran = await provider.runner.run(job, 'run:0xd7', signal())
    expect(ran).toMatchObject({ resultsCid: await canonicalCid('ERR_OUTPUTS_TOO_LARGE'), exitCode: 125, failure: 'ERR_OUTPUTS_TOO_LARGE' })
    expect((await mediator.runner.run(job, 'rerun:0xd7', signal())).resultsCid).toBe(ran.resultsCid)
    const next = await createCowsayRepo({ into: join(await tempDir(), 'cowsay') })
    expect(await provider.runner.run(offer(next, await specHashOf(next)), 'run:0xd8', signal())).toMatchObject({ exitCode: 0 })
  })

  it('a module asking for a network is refused before signing where jobs get none, and is a failed run after', async () => {
    const repo = await scriptModule(imageId, 'echo never', { Network: { Type: 'Full' } })
    const job = offer(repo, await specHashOf(repo))
    const { runner } = await machine()
    const refused = runner.prepare(job, limits, signal())
    await expect(refused).rejects.toMatchObject({ code: 'ERR_NETWORK_NOT_ALLOWED' })
    await expect(refused).rejects.toThrow('asks for a network, and this node runs jobs without one')
    expect(await runner.run(job, 'run:0xd9', signal())).toMatchObject({ resultsCid: await canonicalCid('ERR_NETWORK_NOT_ALLOWED'), exitCode: 125 })
    const open = await machine({ docker: new DockerExecutor({ allowNetwork: true }) })
    await open.runner.prepare(job, limits, signal())
  })

  it('a module asking for a GPU is refused before signing on a node without one, and never runs on its CPUs', async () => {
    const repo = await scriptModule(imageId, 'echo ran on cpu > /outputs/x', { Resources: { GPU: '1' } })
    const job = offer(repo, await specHashOf(repo))
    const { runner } = await machine({ docker: new DockerExecutor({ slot: { cpuMilli: 1000, memoryBytes: 256 * 1024 * 1024, gpus: 0 } }) })
    const refused = runner.prepare(job, limits, signal())
    await expect(refused).rejects.toMatchObject({ code: 'ERR_GPU_UNAVAILABLE' })
    await expect(refused).rejects.toThrow('asks for 1 GPU(s), and this node gives jobs none')
    expect(await runner.run(job, 'run:0xda', signal())).toMatchObject({ resultsCid: await canonicalCid('ERR_GPU_UNAVAILABLE'), exitCode: 125 })
  })

  it('a WASM module: spec hash and timeout are checked before signing, and a mismatch is the same failed run as for Docker', async () => {
    const repo = await createCowsayWasmRepo({ into: join(await tempDir(), 'cowsay-wasm') })
    const { runner } = await machine({ wasm: new WasmExecutor() })
    const good = offer(repo, await specHashOf(repo))
    await runner.prepare(good, limits, signal())
    await expect(runner.prepare(good, { maxDurationMs: 10_000 }, signal())).rejects.toMatchObject({ code: 'ERR_TIMEOUT_TOO_LONG' })
    const wrong = offer(repo, WRONG_HASH)
    await expect(runner.prepare(wrong, limits, signal())).rejects.toMatchObject({ code: 'ERR_SPEC_MISMATCH' })
    expect(await runner.run(wrong, 'run:0xd6', signal())).toMatchObject({ resultsCid: await canonicalCid('ERR_SPEC_MISMATCH'), exitCode: 125 })
  })

  it('a run stopped by the node still rejects, and records no failed run', async () => {
    const repo = await scriptModule(imageId, 'echo ok')
    const job = offer(repo, await specHashOf(repo))
    const { runner } = await machine()
    const controller = new AbortController()
    controller.abort()
    await expect(runner.run(job, 'run:0xd7', controller.signal)).rejects.toThrow()
    await expect(runner.prepare(job, limits, controller.signal)).rejects.toThrow()
    const ran = await runner.run(job, 'run:0xd7', signal())
    expect(ran.exitCode).toBe(0)
    expect(ran).not.toHaveProperty('failure')
  })
})

/** A Docker executor that notes the job of each run it starts. */
class CountingDocker extends DockerExecutor {
  readonly started: string[] = []
  override run (job: Parameters<DockerExecutor['run']>[0], signal?: AbortSignal): ReturnType<DockerExecutor['run']> {
    this.started.push(job.jobId)
    return super.run(job, signal)
  }
}

describe('the run after the checks', () => {
  it('takes the module the checks loaded: a module gone from the node since still runs', async () => {
    const repo = await createCowsayRepo({ into: join(await tempDir(), 'cowsay') })
    const job = offer(repo, await specHashOf(repo))
    const { runner, dataDir } = await machine({ docker })
    await runner.prepare(job, limits, signal())
    await rm(repo.path, { recursive: true })
    await rm(join(dataDir, 'modules'), { recursive: true })
    const ran = await runner.run(job, 'run:0xe1', signal())
    expect(ran).toMatchObject({ exitCode: 0 })
    expect(ran).not.toHaveProperty('failure')
    // another node, which loads the module itself, finds it gone
    expect((await (await machine()).runner.run(job, 'run:0xe1', signal())).failure).toBe('ERR_MODULE_UNAVAILABLE')
  })

  it('takes the run started on the proposal: the container runs once, and its results are a run of its own', async () => {
    const counting = new CountingDocker()
    const repo = await createCowsayRepo({ into: join(await tempDir(), 'cowsay') })
    const job = offer(repo, await specHashOf(repo))
    const { runner, dataDir } = await machine({ docker: counting })
    runner.warm(job, 'warm:0xa1', Date.now() + 30_000)
    await runner.prepare(job, limits, signal())
    const ran = await runner.run(job, 'run:0xe2', signal())
    expect(counting.started).toHaveLength(1)
    expect(counting.started[0]).toMatch(/^warm-/)
    expect(await cidOfPath(join(dataDir, 'results', (await readdir(join(dataDir, 'results'))).find(f => f.startsWith('run-0xe2'))!))).toEqual(parseCid(ran.resultsCid))
    expect((await readdir(join(dataDir, 'results'))).filter(f => f.startsWith('warm-'))).toEqual([])
    expect(ran.resultsCid).toBe((await (await machine()).runner.run(job, 'run:0xe2', signal())).resultsCid)
  })

  it('a run started on a proposal no deal followed is stopped, its container and folder gone', async () => {
    const repo = await scriptModule(imageId, 'sleep 30')
    const job = offer(repo, await specHashOf(repo))
    const { runner, dataDir } = await machine({ docker })
    runner.warm(job, 'warm:0xa2', Date.now() + 1_500)
    const warmContainers = async (): Promise<number> => (await docker.list()).filter(c => c.jobId.startsWith('warm-0xa2-')).length
    await vi.waitFor(async () => { expect(await warmContainers()).toBe(1) }, { timeout: 20_000, interval: 100 })
    await vi.waitFor(async () => {
      expect(await warmContainers()).toBe(0)
      expect((await readdir(join(dataDir, 'results')).catch(() => [])).filter(f => f.startsWith('warm-'))).toEqual([])
    }, { timeout: 20_000, interval: 200 })
  })

  it('a deal\'s run of another job stops the run started ahead: real work does not share the slot', async () => {
    const sleeper = await scriptModule(imageId, 'sleep 30')
    const warmed = offer(sleeper, await specHashOf(sleeper))
    const repo = await createCowsayRepo({ into: join(await tempDir(), 'cowsay') })
    const job = offer(repo, await specHashOf(repo))
    const { runner } = await machine({ docker })
    runner.warm(warmed, 'warm:0xa3', Date.now() + 60_000)
    const warmContainers = async (): Promise<number> => (await docker.list()).filter(c => c.jobId.startsWith('warm-0xa3-')).length
    await vi.waitFor(async () => { expect(await warmContainers()).toBe(1) }, { timeout: 20_000, interval: 100 })
    expect(await runner.run(job, 'run:0xe4', signal())).toMatchObject({ exitCode: 0 })
    await vi.waitFor(async () => { expect(await warmContainers()).toBe(0) }, { timeout: 20_000, interval: 100 })
  })

  it('what a run started ahead left when its node was killed goes when the node starts again', async () => {
    const repo = await scriptModule(imageId, 'echo started > /outputs/a; sleep 30')
    const job = offer(repo, await specHashOf(repo))
    const { store, dataDir } = await machine({ docker })
    // what a node killed during its run ahead leaves: the container running, its outputs filesystem
    // and its folder (the folder name is the run's: `warm:<proposal id>` made a folder name)
    const module = await loadModule({ ref: `${repo.path}:${repo.commit}`, inputs, cacheDir: join(dataDir, 'modules') })
    const folder = 'warm-0xb1-' + createHash('sha256').update('warm:0xb1').digest('hex').slice(0, 8)
    await docker.start(dockerJobFromModule(module.spec.job, { jobId: folder, resultsDir: join(dataDir, 'results', folder), machine: module.spec.machine }))
    const warmContainers = async (): Promise<number> => (await docker.list()).filter(c => c.jobId === folder).length
    expect(await warmContainers()).toBe(1)
    expect(job.specHash).toBe(module.specHash)
    // the node again, on the same folder, before anything runs
    await new ModuleRunner({ dataDir }, { executors: { docker }, results: store }).sweep()
    expect(await warmContainers()).toBe(0)
    expect((await readdir(join(dataDir, 'results'))).filter(f => f.startsWith('warm-'))).toEqual([])
    expect((await readdir(join(dataDir, 'results', '.outputs-fs')).catch(() => [])).filter(f => f.startsWith('warm-'))).toEqual([])
  })

  it('no run starts ahead of the deal where the node turned that off', async () => {
    const repo = await createCowsayRepo({ into: join(await tempDir(), 'cowsay') })
    const job = offer(repo, await specHashOf(repo))
    const executor = new CountingDocker()
    const { runner } = await machine({ docker: executor }, { warmRuns: false })
    runner.warm(job, 'warm:0xa4', Date.now() + 30_000)
    expect(await runner.run(job, 'run:0xe3', signal())).toMatchObject({ exitCode: 0 })
    expect(executor.started).toEqual([expect.stringMatching(/^run-0xe3/)])
  })
})
