/**
 * A devnet whose nodes each run on a host of their own: a network namespace this test makes, whose
 * link delays what the host sends by 50 ms and drops 1 % of it. The dev chain and the job creator
 * (this process) are in the root namespace, on two addresses of the hosts' network. A deal runs
 * across the hosts; then the network is cut in two, the provider on one side, while deals are under
 * way: healed in time, the deal finishes; kept apart past the submit deadline, the chain included,
 * it ends on that deadline. Every deal's escrow moves as settle() says, and the mesh heals.
 */
import { connect } from 'node:net'
import { join } from 'node:path'
import { computeAddress } from 'ethers'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { COWSAY_IMAGE_PLACEHOLDER, createModuleRepo, ensureCowsayImage } from '../../../src/cli/demo/demo-modules.ts'
import { JobError } from '../../../src/node/jobs/job-client.ts'
import { SettlementClient } from '../../../src/settlement/client.ts'
import { increaseTime } from '../../../src/settlement/dev-chain.ts'
import { lockedBy, settle } from '../../../src/state-machines/settle.ts'
import { startE2eNetwork, type E2eNetwork } from '../network/e2e-network.ts'
import { creatorDeals, providerDeals, readLiveLog, readLog, type DealView } from '../network/node-logs.ts'
import { createHosts, type Hosts } from './namespaces.ts'

const DELAY_MS = 50
const LOSS_PERCENT = 1
/** a slow job's run: long enough for the network to be cut while it runs */
const SLOW_JOB_SECONDS = 4
/**
 * The windows of a slow job, whose module's timeout is 10 s. The mediate window is long because a
 * provider's record of an ended deal, which the audit after each test holds against the job
 * creator's, is kept only until its mediate deadline.
 */
const SLOW_WINDOWS = { agreeWithinMs: 15_000, submitWithinMs: 20_000, judgeWithinMs: 20_000, mediateWithinMs: 600_000 }

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** How long a TCP connection to `host:port` takes to open, at best of three. */
async function connectMs (host: string, port: number): Promise<number> {
  const once = (): Promise<number> => new Promise((resolve, reject) => {
    const started = performance.now()
    const socket = connect({ host, port, timeout: 5000 }, () => { resolve(performance.now() - started); socket.destroy() })
    socket.once('error', reject).once('timeout', () => { socket.destroy(); reject(new Error(`no connection to ${host}:${port}`)) })
  })
  return Math.min(await once(), await once(), await once())
}

describe('nodes on hosts of their own: network namespaces, 50 ms delay and 1 % loss between them', () => {
  let hosts: Hosts
  let links: 'netem' | 'delay-queue'
  let net: E2eNetwork
  let chain: SettlementClient
  let slowModule: string

  beforeAll(async () => {
    hosts = await createHosts(['solver-1', 'mediator-1', 'provider-1'])
    links = await hosts.impair({ delayMs: DELAY_MS, lossPercent: LOSS_PERCENT })
    net = await startE2eNetwork({
      solvers: 1,
      mediators: 1,
      providers: 1,
      chainHost: hosts.service,
      placement: name => ({ host: hosts.host(name).address, prefix: hosts.exec(name) })
    })
    const { info } = net.devnet
    chain = await SettlementClient.open({ rpcUrl: info.rpcUrl, privateKey: info.jobCreatorKey, settlementAddress: info.settlementAddress })
    // a claim goes out when a node's clock passes a deadline: the chain's must agree it has (block times are whole seconds)
    await increaseTime(chain.provider, 2)
    const slow = await createModuleRepo('cowsay', {
      into: join(net.root, 'modules', 'slow-cowsay'),
      substitutions: {
        [COWSAY_IMAGE_PLACEHOLDER]: await ensureCowsayImage(),
        '"/usr/local/bin/cowsay",': `"/bin/sh", "-c", "sleep ${SLOW_JOB_SECONDS}; exec /usr/local/bin/cowsay \\"$0\\"",`,
        '"Timeout": 60': '"Timeout": 10'
      }
    })
    slowModule = `${slow.path}:${slow.tag}`
  }, 300_000)

  afterAll(async () => {
    try {
      await chain?.close()
      await net?.stop()
    } finally {
      await hosts?.destroy()
    }
  }, 60_000)

  afterEach(async () => {
    await hosts.heal()
    await net.auditEverything()
  }, 60_000)

  const addressOf = (name: string): string => hosts.host(name).address
  const nodeAddress = (name: string): string => net.devnet.info.nodes.find(n => n.name === name)!.address
  /** the job creator joins from this process, on its address of the hosts' network */
  const job = (name: string): Promise<{ dataDir: string, listen: string[] }> =>
    net.jobDir(name).then(dataDir => ({ dataDir, listen: [`/ip4/${hosts.local}/tcp/0`] }))

  /** The provider's record of a deal, from its log, once `ready` holds of it (a minute at most). */
  async function providerRecord (dealId: string, ready: (deal: DealView | undefined) => boolean): Promise<DealView | undefined> {
    const provider = net.devnet.info.nodes.find(n => n.name === 'provider-1')!
    let deal: DealView | undefined
    for (let tries = 0; tries < 60; tries++) {
      if (tries > 0) await sleep(1000)
      deal = providerDeals(await readLiveLog('provider-1', provider.dataDir, join(net.root, 'log-copies'))).get(dealId)
      if (ready(deal)) break
    }
    return deal
  }

  /** Every account's escrow balance, to hold a deal's moves against settle(). */
  async function balances (): Promise<Map<string, bigint>> {
    const accounts = [computeAddress(net.devnet.info.jobCreatorKey), ...net.devnet.info.nodes.map(n => n.address)]
    return new Map(await Promise.all(accounts.map(async a => [a.toLowerCase(), await chain.balanceOf(a)] as const)))
  }

  /** The deal of the job run from `dataDir` ended `outcome` on chain, and escrow moved from `before` exactly as settle() says. */
  async function expectSettled (dataDir: string, outcome: 'Accepted' | 'TimeoutSubmit', before: Map<string, bigint>): Promise<void> {
    const [deal, ...others] = creatorDeals(await readLog('job creator', join(dataDir, 'log')))
    expect(others).toEqual([])
    let record = await chain.dealRecord(deal!.dealId)
    for (let tries = 0; record.state !== 'Settled' && tries < 120; tries++) {
      await sleep(250)
      record = await chain.dealRecord(deal!.dealId)
    }
    expect(record).toMatchObject({ state: 'Settled', outcome })
    const { payouts } = settle(deal!.deal, { outcome })
    const locked = lockedBy(deal!.deal)
    const expected = new Map(before)
    const add = (account: string, amount: bigint): void => { expected.set(account.toLowerCase(), expected.get(account.toLowerCase())! + amount) }
    add(deal!.deal.jobCreator, payouts.jobCreator - locked.jobCreator)
    add(deal!.deal.resourceProvider, payouts.resourceProvider - locked.resourceProvider)
    add(deal!.deal.solver, payouts.solver)
    expect(await balances()).toEqual(expected)
  }

  it('each host\'s link delays and drops what it sends, and a deal runs across them: results fetched, accepted and settled as settle() says', async () => {
    // the answer to a connection's first packet leaves the host 50 ms late
    for (const node of net.devnet.info.nodes) {
      const [, , host, , port] = node.multiaddrs[0]!.split('/')
      expect(host).toBe(addressOf(node.name))
      const ms = await connectMs(host!, Number(port))
      expect(ms, `${node.name}: connection time`).toBeGreaterThanOrEqual(DELAY_MS - 5)
      expect(ms, `${node.name}: connection time`).toBeLessThan(1000)
    }
    const before = await balances()
    const { dataDir, listen } = await job('across')
    const result = await net.runCowsay('across namespaces', { dataDir, listen })
    expect(result).toMatchObject({ outcome: 'Accepted', settled: true, provider: nodeAddress('provider-1') })
    expect(result.stdout).toContain('< across namespaces >')
    await expectSettled(dataDir, 'Accepted', before)
  }, 120_000)

  it('cut in two while the provider runs a job (the chain on both sides), healed before the submit deadline: the deal finishes, Accepted', async () => {
    const before = await balances()
    const { dataDir, listen } = await job('cut-and-healed')
    let dealId: string | undefined
    let cut: Promise<{ healedAt: number, cutOff: DealView | undefined }> | undefined
    let resultsAt = 0
    const result = await net.runModule(slowModule, { Message: 'cut and healed' }, {
      dataDir,
      listen,
      ...SLOW_WINDOWS,
      onPhase: (phase, detail) => {
        if (phase === 'matched') dealId = detail.deal as string
        if (phase === 'results') resultsAt = Date.now()
        if (phase !== 'agreed') return
        cut = (async () => {
          await hosts.partition([addressOf('provider-1')], [hosts.local, addressOf('solver-1'), addressOf('mediator-1')])
          // the provider runs the job and sends its results while cut off
          const cutOff = await providerRecord(dealId!, d => typeof d?.resultsCid === 'string')
          await sleep(2000)
          const healedAt = Date.now()
          await hosts.heal()
          return { healedAt, cutOff }
        })()
        cut.catch(() => undefined)
      }
    })
    expect(cut, 'the network was cut').toBeDefined()
    const { healedAt, cutOff } = await cut!
    expect(cutOff, 'the provider\'s record of the deal while cut off').toMatchObject({ outcome: 'ResultsSubmitted', resultsCid: result.resultsCid })
    expect(result).toMatchObject({ outcome: 'Accepted', settled: true })
    expect(result.stdout).toContain('< cut and healed >')
    expect(resultsAt, 'when the results reached the job creator').toBeGreaterThanOrEqual(healedAt)
    await expectSettled(dataDir, 'Accepted', before)
  }, 120_000)

  it('cut in two past the submit deadline (the chain on the job creator\'s side): the deal ends TimeoutSubmit on it; healed, the provider agrees, and the next job matches and completes across the former cut', async () => {
    const before = await balances()
    const { dataDir, listen } = await job('cut-past-deadline')
    let dealId: string | undefined
    let cut: Promise<number> | undefined
    const failed = await net.runModule(slowModule, { Message: 'cut off' }, {
      dataDir,
      listen,
      ...SLOW_WINDOWS,
      onPhase: (phase, detail) => {
        if (phase === 'matched') dealId = detail.deal as string
        if (phase !== 'agreed') return
        cut = (async () => {
          await hosts.partition([addressOf('provider-1')], [hosts.local, hosts.service, addressOf('solver-1'), addressOf('mediator-1')])
          // healed once the job creator's claim settled the deal: the provider claims at its judge deadline, and
          // a claim it cannot send leaves its record at its own claim's outcome
          for (let tries = 0; tries < 600 && (await chain.dealRecord(dealId!)).state !== 'Settled'; tries++) await sleep(250)
          const healedAt = Date.now()
          await hosts.heal()
          return healedAt
        })()
        cut.catch(() => undefined)
      }
    }).then(() => undefined, (err: Error) => err)
    expect(cut, 'the network was cut').toBeDefined()
    const healedAt = await cut!
    expect(failed).toBeInstanceOf(JobError)
    const { result } = failed as JobError
    expect(result).toMatchObject({ outcome: 'TimeoutSubmit', provider: nodeAddress('provider-1') })
    await expectSettled(dataDir, 'TimeoutSubmit', before)

    // healed before its judge deadline, the provider claims there, and takes the outcome the chain answers
    const [deal] = creatorDeals(await readLog('job creator', join(dataDir, 'log')))
    expect(healedAt, 'the heal, before the provider\'s judge deadline').toBeLessThan(deal!.deal.judgeDeadline)
    const theirs = await providerRecord(result!.dealId!, d => d?.outcome === 'TimeoutSubmit')
    expect(theirs).toMatchObject({ outcome: 'TimeoutSubmit', resultsCid: expect.any(String) })

    // its one slot is offered again only now, across the former cut, to the solver on the other side
    const after = await net.runCowsay('after the heal', { ...await job('after-the-heal'), matchWithinMs: 60_000 })
    expect(after).toMatchObject({ outcome: 'Accepted', settled: true, provider: nodeAddress('provider-1') })
    expect(after.stdout).toContain('< after the heal >')
  }, 180_000)

  it('over the whole run, each host\'s link dropped about 1 % of what it sent', async () => {
    const counts = [...(await hosts.counts()).values()]
    const sent = counts.reduce((n, c) => n + c.packets, 0)
    const dropped = counts.reduce((n, c) => n + c.dropped, 0)
    console.log(`links (${links}): ${sent} packets sent, ${dropped} dropped`)
    expect(sent).toBeGreaterThan(1000)
    expect(dropped / sent).toBeGreaterThan(LOSS_PERCENT / 100 / 3)
    expect(dropped / sent).toBeLessThan(LOSS_PERCENT / 100 * 3)
  })
})
