/**
 * One job at a time through a whole devnet (dev chain, two providers, two solvers, two mediators,
 * each its own process on 127.0.0.1; cowsay on Docker), driven by the `lilypad run` command itself.
 */
import { cp, mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import { computeAddress, Wallet } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SettlementClient } from '../../../src/settlement/client.ts'
import { lockedBy, settle } from '../../../src/state-machines/settle.ts'
import { cidOfPath } from '../../../src/executor/results/cid.ts'
import { COWSAY_IMAGE_PLACEHOLDER, createModuleRepo, ensureCowsayImage } from '../../../src/cli/demo/demo-modules.ts'
import type { JobResult } from '../../../src/node/jobs/job-client.ts'
import { RUN_EXIT } from '../../../src/cli/commands/run.ts'
import { startE2eNetwork, type E2eNetwork } from './e2e-network.ts'
import { creatorDeals, readLog } from './node-logs.ts'
import { errorLines, lilypad } from './cli.ts'
import { truncateLog } from '../../support/truncate-log.ts'

describe('one job through the network, with `lilypad run`', () => {
  let net: E2eNetwork
  let chain: SettlementClient

  beforeAll(async () => {
    net = await startE2eNetwork({ mediators: 2 })
    const { info } = net.devnet
    chain = await SettlementClient.open({ rpcUrl: info.rpcUrl, privateKey: info.jobCreatorKey, settlementAddress: info.settlementAddress })
  }, 300_000)

  afterAll(async () => {
    await chain?.close()
    await net?.stop()
  }, 60_000)

  afterEach(async () => {
    await net.auditEverything()
  }, 60_000)

  it('runs cowsay on a provider, fetches the results by CID, accepts them, settles on chain and moves escrow exactly as settle() says', async () => {
    const { info } = net.devnet
    const creator = computeAddress(info.jobCreatorKey)
    const everyone = [creator, ...info.nodes.map(n => n.address)]
    const balances = async (): Promise<Map<string, bigint>> => new Map(await Promise.all(everyone.map(async a => [a, await chain.balanceOf(a)] as const)))
    const before = await balances()

    const dataDir = await net.jobDir('happy')
    // checking off: this deal is the plain one, accepted as it came
    const run = await lilypad(['run', 'cowsay:v0.0.1', '-i', 'Message=moo', '--mediation-chance', '0', '--devnet-dir', join(net.root, 'devnet'), '--json'], { DATA_DIR: dataDir })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(RUN_EXIT.ok)
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as JobResult
    expect(result).toMatchObject({ outcome: 'Accepted', checked: false, settled: true })
    expect(result.stdout).toContain('< moo >')
    // what the creator fetched is what the provider announced: the folder hashes to the deal's results CID
    expect((await cidOfPath(result.resultsDir!)).toString()).toBe(result.resultsCid)
    expect(await chain.dealRecord(result.dealId!)).toMatchObject({ state: 'Settled', outcome: 'Accepted' })

    // the deal as the job creator signed it, from its own log
    const [deal, ...others] = creatorDeals(await readLog('job creator', join(dataDir, 'log')))
    expect(others).toEqual([])
    expect(deal!.dealId).toBe(result.dealId)
    expect(deal!.deal.resourceProvider).toBe(result.provider)
    const payouts = settle(deal!.deal, { outcome: 'Accepted' }).payouts
    const locked = lockedBy(deal!.deal)
    const expected = new Map(everyone.map(a => [a, 0n]))
    const add = (address: string, amount: bigint): void => { expected.set(address, expected.get(address)! + amount) }
    add(deal!.deal.jobCreator, payouts.jobCreator - locked.jobCreator)
    add(deal!.deal.resourceProvider, payouts.resourceProvider - locked.resourceProvider)
    add(deal!.deal.solver, payouts.solver)
    expect(deal!.deal.jobCreator).toBe(creator)
    expect(info.solvers).toContain(deal!.deal.solver)
    expect(payouts.resourceProvider - locked.resourceProvider).toBeGreaterThan(0n)

    // `lilypad audit --deal` finds the deal on the job creator's log and on the provider's (running,
    // so a copy of it), by the deal id `lilypad run` printed and by the job offer id
    const providerNode = info.nodes.find(n => n.address === result.provider)!
    const solverNode = info.nodes.find(n => n.address === deal!.deal.solver)!
    const audits = [[dataDir, 'job-creator'], [providerNode.dataDir, 'resource-provider']] as const
    for (const [dir, role] of audits) {
      for (const id of [result.dealId!, deal!.jobOfferId]) {
        const audit = await lilypad(['audit', dir, '--deal', id, '--json'])
        expect(audit.code, `audit of ${dir} --deal ${id}: ${audit.stderr}`).toBe(0)
        const report = JSON.parse(audit.stdout)
        expect(report.ok).toBe(true)
        expect(report.deal.deals.map((d: { dealId: string }) => d.dealId)).toEqual([result.dealId])
        expect(report.deal.deals[0].parties).toEqual([expect.objectContaining({ role, outcome: 'Accepted', resultsCid: result.resultsCid })])
        expect(report.deal.messages.filter((m: { type: string, id: string }) => m.type === 'Deal' && m.id === result.dealId).length).toBeGreaterThan(0)
        expect(report.deal.problems).toEqual([])
      }
    }
    // and the logs of its parties agree on it
    const across = await lilypad(['audit', 'deal', result.dealId!, dataDir, providerNode.dataDir, solverNode.dataDir, '--json'])
    expect(across.code, across.stdout + across.stderr).toBe(0)
    expect(JSON.parse(across.stdout)).toMatchObject({ ok: true, dealId: result.dealId, shared: expect.any(Number) })
    expect(JSON.parse(across.stdout).shared).toBeGreaterThanOrEqual(5)
    // each party holds the other's log heads, signed with the deal's messages, and each log meets them
    expect(JSON.parse(across.stdout).heads).toBeGreaterThanOrEqual(4)

    // and each holds against the chain: the deal settled as the log says, and every payment the
    // chain made to the node is in its log
    const onChain = ['--rpc-url', info.rpcUrl, '--settlement', info.settlementAddress]
    for (const dir of [dataDir, providerNode.dataDir]) {
      const audit = await lilypad(['audit', dir, ...onChain, '--json'])
      expect(audit.code, audit.stdout + audit.stderr).toBe(0)
      expect(JSON.parse(audit.stdout).chain).toMatchObject({ ok: true, checked: 1, findings: [] })
    }
    // a job creator's log cut short after its first record audits OK alone; the chain shows what it lost
    const cut = await mkdtemp(join(net.root, 'cut-log-'))
    await cp(join(dataDir, 'log'), cut, { recursive: true })
    expect(await truncateLog(cut, 1)).toBeGreaterThan(10)
    expect((await lilypad(['audit', cut])).code).toBe(0)
    const caught = await lilypad(['audit', cut, ...onChain])
    expect(caught.code, caught.stdout + caught.stderr).toBe(1)
    expect(caught.stdout).toContain(`MISSING_FROM_LOG the chain shows this node paid`)
    expect(caught.stdout).toContain(`in deal ${result.dealId!.toLowerCase()}`)

    const after = await balances()
    const moved = new Map(everyone.map(a => [a, after.get(a)! - before.get(a)!]))
    expect(moved).toEqual(expected)
  }, 180_000)

  it('a job creator with no Docker engine checks a Docker job through the mediator: it re-runs the job, and the deal settles as MediationAccepted', async () => {
    const dataDir = await net.jobDir('remote-check')
    const mediators = net.devnet.info.nodes.filter(n => n.name.includes('mediator'))
    const before = await Promise.all(mediators.map(async m => await chain.balanceOf(m.address)))
    // a socket no engine listens on: the creator's node finds no Docker engine, so its check cannot run here
    const run = await lilypad(['run', 'cowsay:v0.0.1', '-i', 'Message=checked elsewhere', '--mediation-chance', '100', '--devnet-dir', join(net.root, 'devnet'), '--json'],
      { DATA_DIR: dataDir, DOCKER_HOST: `unix://${join(net.root, 'no-docker-here.sock')}` })
    expect(run.code, run.stderr).toBe(RUN_EXIT.ok)
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as JobResult
    expect(result).toMatchObject({ outcome: 'MediationAccepted', checked: true, settled: true })
    expect(result.stdout).toContain('< checked elsewhere >')
    const record = await chain.dealRecord(result.dealId!)
    expect(record).toMatchObject({ state: 'Settled', outcome: 'MediationAccepted', caseTaken: true })
    // the judge the chain drew re-ran it and was paid its fee, by the creator whose challenge it turned down
    const [deal] = creatorDeals(await readLog('job creator', join(dataDir, 'log')))
    expect(deal!.deal.mediators).toHaveLength(2)
    const after = await Promise.all(mediators.map(async m => await chain.balanceOf(m.address)))
    expect(mediators.map((m, i) => [m.address, after[i]! - before[i]!]))
      .toEqual(mediators.map(m => [m.address, m.address === record.mediator ? BigInt(deal!.deal.mediatorFee) : 0n]))
    expect(BigInt(deal!.deal.mediatorFee)).toBeGreaterThan(0n)
  }, 180_000)

  it('a job that asks for 2 of its 2 mediators\' verdicts: both re-run it, the second verdict settles the deal, and each is paid half the fee', async () => {
    const dataDir = await net.jobDir('quorum')
    const mediators = net.devnet.info.nodes.filter(n => n.name.includes('mediator'))
    const before = await Promise.all(mediators.map(async m => await chain.balanceOf(m.address)))
    const run = await lilypad(['run', 'cowsay:v0.0.1', '-i', 'Message=two of two', '--mediation-chance', '100', '--quorum', '2', '--devnet-dir', join(net.root, 'devnet'), '--json'],
      { DATA_DIR: dataDir, DOCKER_HOST: `unix://${join(net.root, 'no-docker-here.sock')}` })
    expect(run.code, run.stderr).toBe(RUN_EXIT.ok)
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as JobResult
    expect(result).toMatchObject({ outcome: 'MediationAccepted', checked: true, settled: true })
    expect(result.stdout).toContain('< two of two >')
    const [deal] = creatorDeals(await readLog('job creator', join(dataDir, 'log')))
    expect(deal!.deal).toMatchObject({ quorum: 2, mediators: mediators.map(m => m.address) })
    // no judge was drawn: both verdicts were counted, and the fee (twice a mediator's) split in two
    expect(await chain.dealRecord(result.dealId!)).toMatchObject({ state: 'Settled', outcome: 'MediationAccepted', caseTaken: false })
    const after = await Promise.all(mediators.map(async m => await chain.balanceOf(m.address)))
    expect(after.map((a, i) => a - before[i]!)).toEqual(mediators.map(() => BigInt(deal!.deal.mediatorFee) / 2n))
  }, 180_000)

  it('explains what a user got wrong in one line, with an exit code for each: unknown module, no provider matches, no deposit, no devnet', async () => {
    const devnetDir = join(net.root, 'devnet')
    // a module whose machine asks for more GPUs than any provider offers
    const imageId = await ensureCowsayImage()
    const gpuModule = await createModuleRepo('cowsay', {
      into: join(net.root, 'modules', 'cowsay-many-gpus'),
      substitutions: { '"gpu": 0': '"gpu": 64', [COWSAY_IMAGE_PLACEHOLDER]: imageId }
    })
    const scratch = (name: string): Promise<string> => mkdtemp(join(net.root, `${name}-`))
    const [unknownModule, noMatch, noDeposit, noDevnet] = await Promise.all([
      lilypad(['run', 'cowsay:v9.9.9', '-i', 'Message=moo', '--devnet-dir', devnetDir], { DATA_DIR: await scratch('unknown-module') }),
      // a module in a local repository, which `lilypad run` fetches where local repositories are allowed
      lilypad(['run', `${gpuModule.path}:v0.0.1`, '-i', 'Message=moo', '--devnet-dir', devnetDir, '--match-within', '3000'], { DATA_DIR: await net.jobDir('no-match'), LILYPAD_MODULE_SCHEMES: 'https,file' }),
      // an account with nothing in escrow: its node starts, and stops at once, saying why
      lilypad(['run', 'cowsay:v0.0.1', '-i', 'Message=moo', '--devnet-dir', devnetDir], { DATA_DIR: await net.jobDir('no-deposit'), WEB3_PRIVATE_KEY: Wallet.createRandom().privateKey }),
      lilypad(['run', 'cowsay:v0.0.1', '-i', 'Message=moo', '--devnet-dir', join(net.root, 'no-devnet-here')], { DATA_DIR: await scratch('no-devnet') })
    ])

    expect(unknownModule.code).toBe(RUN_EXIT.badInput)
    expect(errorLines(unknownModule.stderr)).toEqual([expect.stringMatching(/ref "v9\.9\.9" not found in module repository/)])
    expect(noMatch.code).toBe(RUN_EXIT.noMatch)
    expect(errorLines(noMatch.stderr)).toEqual(['lilypad run: no resource provider matched this job before its match deadline'])
    expect(noDeposit.code).toBe(RUN_EXIT.noDeposit)
    expect(errorLines(noDeposit.stderr)).toEqual([expect.stringMatching(/^lilypad run: the escrow deposit of 0x[0-9a-fA-F]{40} is 0 wei; this job needs \d+ wei$/)])
    expect(noDevnet.code).toBe(RUN_EXIT.noNetwork)
    expect(errorLines(noDevnet.stderr)).toEqual([expect.stringMatching(/^lilypad run: no devnet found at .*no-devnet-here\/devnet\.json: start one with `lilypad devnet`$/)])
    for (const run of [unknownModule, noMatch, noDeposit, noDevnet]) {
      expect(run.stderr).not.toMatch(/^\s+at /m)
      expect(run.stdout).toBe('')
    }
  }, 120_000)
})
