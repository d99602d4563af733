/**
 * Jobs a contract asks for on chain: the example contract asks LilypadJobs for cowsay on a devnet
 * with two relayers (job-creator nodes with --onchain-jobs). The relayers race and one deal is made;
 * a relayer killed after offering is replaced once its claim ends; a request no provider can take
 * is refunded at its deadline; and anyone holding a settled deal of a request may deliver it, while
 * a delivery naming results the settlement contract does not hold for that deal reverts.
 */
import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { COWSAY_IMAGE_PLACEHOLDER, createModuleRepo, ensureCowsayImage, type ModuleRepo } from '../../../src/cli/demo/demo-modules.ts'
import type { JobCreatorContext } from '../../../src/state-machines/job-creator.machine.ts'
import { parseCid } from '../../../src/executor/results/cid.ts'
import { pathProof } from '../../../src/executor/results/path-proof.ts'
import { ExampleCowsayClient } from '../../../src/settlement/example-client.ts'
import { OnchainJobsClient } from '../../../src/settlement/onchain-jobs.ts'
import { startE2eNetwork, type E2eNetwork } from '../network/e2e-network.ts'
import { readLiveLog, readLog } from '../network/node-logs.ts'
import { lilypad } from '../network/cli.ts'
import { nodeLogDigest } from '../network/node-log-digest.ts'

const TOKEN = 10n ** 18n
const PAYMENT = 5n * 10n ** 15n
const RELAYER_FEE = 10n ** 14n
/** long enough for a deal of a module with a 5 s timeout: the relayers shrink its windows to fit */
const CLAIM_WINDOW_MS = 40_000

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function until<T> (what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const started = Date.now()
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await sleep(500)
  }
}

describe('jobs asked for by a contract, relayed by job-creator nodes', () => {
  let net: E2eNetwork
  let requester: OnchainJobsClient
  let example: ExampleCowsayClient
  /** cowsay with a 5 s timeout, and a module that asks for a GPU no provider has */
  let quick: ModuleRepo
  let gpuOnly: ModuleRepo

  const ask = async (module: ModuleRepo, message: string, o: { deadlineMs?: number, claimWindowMs?: number } = {}): Promise<string> => (await example.ask({
    moduleRepo: module.path,
    moduleCommit: module.commit,
    message,
    payment: PAYMENT,
    relayerFee: RELAYER_FEE,
    deadline: Date.now() + (o.deadlineMs ?? 120_000),
    claimWindow: o.claimWindowMs ?? CLAIM_WINDOW_MS
  })).requestId

  /** the job offers each relayer made for a request, from its log */
  const offersFor = async (requestId: string): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {}
    for (const name of ['relayer-1', 'relayer-2']) {
      const node = net.devnet.info.nodes.find(n => n.name === name)!
      const log = await readLiveLog(name, node.dataDir, join(net.root, 'log-copies'))
      counts[name] = [...log.contexts].filter(([stream, c]) => stream.startsWith('job:') && (c as JobCreatorContext).job.nonce === BigInt(requestId).toString()).length
    }
    return counts
  }

  const fulfilled = (requestId: string, timeoutMs = 60_000): Promise<string> =>
    until(`the example contract called back for ${requestId}`, timeoutMs, async () => await example.resultsCidOf(requestId))

  beforeAll(async () => {
    // debug: a failed test prints what the relayers took, skipped and refused, and why
    net = await startE2eNetwork({ solvers: 1, mediators: 1, providers: 1, relayers: 2, jobCreators: 2, parallelStart: true, logLevel: 'debug' })
    const { info } = net.devnet
    const imageId = await ensureCowsayImage()
    quick = await createModuleRepo('cowsay', { substitutions: { [COWSAY_IMAGE_PLACEHOLDER]: imageId, '"Timeout": 60': '"Timeout": 5' } })
    gpuOnly = await createModuleRepo('cowsay', { substitutions: { [COWSAY_IMAGE_PLACEHOLDER]: imageId, '"gpu": 0': '"gpu": 1' } })
    requester = await OnchainJobsClient.open({ rpcUrl: info.rpcUrl, privateKey: info.jobCreatorKeys[0]!, jobsAddress: info.onchainJobs! })
    example = await ExampleCowsayClient.deploy(requester)
    await example.fund(10n * TOKEN)
  }, 240_000)

  beforeEach(({ onTestFailed }) => {
    const since = Date.now()
    onTestFailed(async () => {
      // a network that never started has no logs to tell
      if (net === undefined) return
      process.stdout.write(`the nodes' logs, timed from the test's start:\n${await nodeLogDigest(net.devnet.info.nodes, since)}\n`)
    })
  })

  afterAll(async () => {
    await requester?.close()
    await net?.stop()
  })

  it('two relayers race for a request: one claims it, one deal is made, and the contract gets the results CID and the cow', async () => {
    const before = await requester.token.getFunction('balanceOf').staticCall(example.address) as bigint
    const requestId = await ask(quick, 'on chain')
    const cid = await fulfilled(requestId)
    const result = await requester.resultOf(requestId)
    expect(result?.resultsCid).toBe(cid)
    // the job's stdout, proven on chain from the results' CID
    expect(await example.cowOf(requestId)).toMatch(/< on chain >[\s\S]*\(oo\)/)
    expect(['relayer-1', 'relayer-2'].map(n => net.devnet.info.nodes.find(node => node.name === n)!.address.toLowerCase())).toContain(result!.relayer.toLowerCase())
    const offers = await offersFor(requestId)
    expect(offers['relayer-1']! + offers['relayer-2']!, JSON.stringify(offers)).toBe(1)
    // the request paid the deal's cost and the relayer's fee; the rest came back
    const after = await requester.token.getFunction('balanceOf').staticCall(example.address) as bigint
    expect(before - after).toBeGreaterThan(RELAYER_FEE)
    expect(before - after).toBeLessThan(PAYMENT)
    expect((await requester.requestOf(requestId)).status).toBe('Delivered')
  }, 120_000)

  it('a relayer killed after offering is replaced once its claim ends; a request no provider takes is refunded at its deadline', async () => {
    const [first, second] = [net.devnet.node('relayer-1'), net.devnet.node('relayer-2')]
    const addressOf = (name: string): string => net.devnet.info.nodes.find(n => n.name === name)!.address.toLowerCase()
    // only relayer-1 sees the request come in
    second.process.kill('SIGSTOP')
    // a deadline well past the claim window: on a loaded machine the second relayer's claim, deal
    // and delivery after it took up to two minutes
    const abandoned = await ask(quick, 'replaced', { deadlineMs: 200_000 })
    const refunded = await ask(gpuOnly, 'no gpu here', { deadlineMs: 45_000, claimWindowMs: 30_000 })
    try {
      await until('relayer-1 claims the request', 30_000, async () => (await requester.requestOf(abandoned)).claimant?.toLowerCase() === addressOf('relayer-1') ? true : undefined)
      await until('relayer-1 offers the job', 15_000, async () => (await offersFor(abandoned))['relayer-1']! > 0 ? true : undefined)
      await first.kill('SIGKILL')
    } finally {
      second.process.kill('SIGCONT')
    }
    // a first offer that finds no match is made again once a claim leaves its deal time enough
    const cid = await fulfilled(abandoned, 210_000)
    expect((await requester.resultOf(abandoned))?.relayer.toLowerCase()).toBe(addressOf('relayer-2'))
    expect(cid).toMatch(/^(Qm|baf)/)

    await until('the request no provider takes is refunded', 60_000, async () => await example.cancelled(refunded) ? true : undefined)
    expect((await requester.requestOf(refunded)).status).toBe('Refunded')
    // every request so far is delivered or refunded: the jobs contract keeps none of their payments
    expect(await requester.token.getFunction('balanceOf').staticCall(requester.address) as bigint).toBe(0n)
  }, 330_000)

  it('anyone with a settled deal of the request may deliver it: a CID the settlement contract does not hold for the deal reverts, and so does a second delivery', async () => {
    const { info } = net.devnet
    const self = await OnchainJobsClient.open({ rpcUrl: info.rpcUrl, privateKey: info.jobCreatorKeys[1]!, jobsAddress: info.onchainJobs! })
    const relayers = info.nodes.filter(n => n.name.startsWith('relayer-')).map(n => net.devnet.node(n.name))
      .filter(r => r.process.exitCode === null && r.process.signalCode === null)
    try {
      // the relayers are held while this account claims the request, so none of them takes it
      for (const r of relayers) r.process.kill('SIGSTOP')
      let requestId: string
      try {
        requestId = await ask(quick, 'delivered by anyone', { claimWindowMs: 110_000 })
        await self.claim(requestId)
      } finally {
        for (const r of relayers) r.process.kill('SIGCONT')
      }
      const dataDir = await net.jobDir('self-relayed')
      const run = await net.runModule(`${quick.path}:${quick.tag}`, { Message: 'delivered by anyone' }, {
        creator: 1, dataDir, nonce: BigInt(requestId).toString(), checkRate: 0, agreeWithinMs: 10_000, submitWithinMs: 15_000, matchWithinMs: 10_000
      })
      expect(run).toMatchObject({ outcome: 'Accepted', settled: true })
      const log = await readLog('self', join(dataDir, 'log'))
      const job = [...log.contexts].map(([, c]) => c as JobCreatorContext).find(c => c.dealId === run.dealId)!

      // the example asks for the job's stdout: its blocks are in the blockstore the results were fetched into
      const blockstore = new FsBlockstore(join(dataDir, 'blocks'))
      await blockstore.open()
      const stdout = { path: 'stdout', blocks: await pathProof(blockstore, parseCid(run.resultsCid!), 'stdout') }
      await blockstore.close()

      await expect(self.deliver(requestId, job.deal!, job.job, 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', stdout)).rejects.toMatchObject({ code: 'RESULTS_NOT_OF_DEAL' })
      await expect(self.deliver(requestId, job.deal!, job.job, run.resultsCid!)).rejects.toMatchObject({ code: 'OFFER_NOT_AS_REQUESTED' })
      const delivered = await self.deliver(requestId, job.deal!, job.job, run.resultsCid!, stdout)
      expect(delivered.dealId).toBe(run.dealId)
      expect(await example.resultsCidOf(requestId)).toBe(run.resultsCid)
      expect(await example.cowOf(requestId)).toContain('< delivered by anyone >')
      await expect(self.deliver(requestId, job.deal!, job.job, run.resultsCid!, stdout)).rejects.toMatchObject({ code: 'REQUEST_NOT_OPEN' })
    } finally {
      await self.close()
    }
  }, 150_000)

  it('`lilypad onchain run` deploys the example, has it ask for cowsay, and prints the cow its callback stored', async () => {
    // another account than the requester's above, whose nonces this process holds; the devnet's cowsay
    // times out at 60 s, and a relayer takes a request only when its deal can settle within the claim
    const run = await lilypad(['onchain', 'run', 'from the cli', '--devnet-dir', join(net.root, 'devnet'), '--timeout', '150000', '--json'], { WEB3_PRIVATE_KEY: net.devnet.info.jobCreatorKeys[1]! })
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!) as { requestId: string, contract: string, resultsCid: string, cow: string }
    expect(result.cow).toContain('< from the cli >')
    expect(result.resultsCid).toMatch(/^Qm/)
    expect((await requester.requestOf(result.requestId)).status).toBe('Delivered')
  }, 200_000)
})
