import { afterEach, describe, expect, it } from 'vitest'
import { Wallet } from 'ethers'
import { EventLog } from '../../../../src/actors/eventlog/event-log.ts'
import { RoleHost, type Role } from '../../../../src/actors/roles/role-host.ts'
import type { JobRunner } from '../../../../src/actors/roles/effects/jobs.ts'
import { recordingChain } from '../../../support/recording-chain.ts'
import { auditLog } from '../../../../src/actors/audit.ts'
import type { JobOffer } from '../../../../src/protocols/messages/schemas.ts'
import type { Envelope } from '../../../../src/protocols/messages/envelope.ts'
import { signMessage, verifyEnvelope } from '../../../../src/protocols/messages/signing.ts'
import { toDomain } from '../../../../src/state-machines/common.ts'
import { JOB_OFFERS_TOPIC, machines } from '../../../../src/state-machines/index.ts'
import type { SlotTerms } from '../../../../src/state-machines/resource-provider.machine.ts'
import { MemoryNetwork } from '../../../support/memory-transport.ts'

const domain = { chainId: '31337', verifyingContract: '0x' + '5e'.repeat(20) }
const HONEST = 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN'
const OTHER = 'QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn'
const wallet = (n: number): Wallet => new Wallet('0x' + n.toString(16).padStart(64, '0'))
const who = { creator: wallet(0xc1), provider: wallet(0xc2), solver: wallet(0xc3), mediator: wallet(0xc4) }

const runnerGiving = (cid: string): JobRunner & { runs: string[] } => {
  const runs: string[] = []
  return {
    runs,
    run: async (_job, runId) => { runs.push(runId); return { resultsCid: cid, exitCode: 0, durationMs: 5, cpuMs: 0 } },
    failed: async (_runId, err) => { throw err },
    prepare: async () => {}
  }
}

const slot: SlotTerms = {
  cpu: 4000, gpu: 0, gpuVramMb: 0, ramMb: 8192, diskMb: 65536, maxSubmitWithin: 3600_000, modules: [],
  price: '800', resultsCollateral: '1500', timeoutCollateral: '400',
  trustedMediators: [who.mediator.address], trustedSolvers: [who.solver.address], multiaddrs: []
}

function jobOffer (now: number): JobOffer {
  return {
    author: who.creator.address, nonce: String(now), expiry: now + 60_000,
    moduleRepo: '/modules/cowsay', moduleCommit: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2', modulePath: 'lilypad_module.json.tmpl',
    specHash: '0x' + '12'.repeat(32), inputs: '{"Message":"moo"}', image: '', inputsCid: '', urlPins: '',
    cpu: 1000, gpu: 0, gpuVramMb: 0, ramMb: 512, diskMb: 1024,
    maxPrice: '1000', maxSolverFee: '10', paymentCollateral: '2000', timeoutCollateral: '300',
    trustedMediators: [who.mediator.address], quorum: 1, trustedSolvers: [who.solver.address],
    matchDeadline: now + 30_000, agreeWithin: 10_000, submitWithin: 30_000, judgeWithin: 30_000, mediateWithin: 30_000
  }
}

const hosts: RoleHost[] = []
const logs: EventLog[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map(h => h.stop()))
  await Promise.all(logs.splice(0).map(l => l.close()))
})

async function network (runners: { provider: JobRunner, creator: JobRunner, mediator: JobRunner }, chain: { readsChallenges?: boolean } = {}) {
  const net = new MemoryNetwork()
  const settlement = recordingChain(chain)
  const start = async (name: keyof typeof who, roles: Role[], runner: JobRunner): Promise<RoleHost> => {
    const log = await EventLog.inMemory()
    logs.push(log)
    const host = await RoleHost.start({
      roles, domain, resourceProvider: { slots: [slot], commitMarginMs: 5_000 }, solver: { solverFee: '5', mediatorFee: '50', batchDelayMs: 5 }, mediator: { capacity: 2 }
    }, {
      log, wallet: who[name], transport: net.join(who[name].address), runner,
      fetcher: { fetch: async () => true }, settlement
    })
    hosts.push(host)
    return host
  }
  const mediator = await start('mediator', ['mediator'], runners.mediator)
  const solver = await start('solver', ['solver'], runnerGiving(HONEST))
  const provider = await start('provider', ['resource-provider'], runners.provider)
  const creator = await start('creator', ['job-creator'], runners.creator)
  return { net, settlement, mediator, solver, provider, creator }
}

function finished (host: RoleHost, stream: string): Promise<NonNullable<ReturnType<RoleHost['job']>>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`job stuck: ${JSON.stringify(host.job(stream)?.phase)}`)), 10_000)
    host.watchJob(stream, (c) => {
      if (c.phase !== 'done') return false
      clearTimeout(timer)
      resolve(c)
      return true
    })
  })
}

async function expectAudited (): Promise<void> {
  for (const log of logs) {
    const rejected: unknown[] = []
    for await (const r of log.read(1)) {
      const output = (r.data as { output?: { type: string } }).output
      if (r.type === 'output' && output?.type === 'input.rejected') rejected.push(output)
    }
    expect(rejected, 'an honest run rejects nothing').toEqual([])
    const report = await auditLog(log, machines)
    expect(report.failure, JSON.stringify(report.failure)).toBeUndefined()
  }
}

describe('RoleHost', () => {
  it('carries a job from offer to accepted results across four nodes, and every log audits', async () => {
    const provider = runnerGiving(HONEST)
    const n = await network({ provider, creator: runnerGiving(HONEST), mediator: runnerGiving(HONEST) })
    const stream = await n.creator.submitJob(jobOffer(Date.now()), { checkRate: 0 })
    const job = await finished(n.creator, stream)
    expect(job).toMatchObject({ outcome: 'Accepted', resultsCid: HONEST, checked: false })
    expect(provider.runs).toEqual([`run:${job.dealId}`])
    // the acceptance reaches the provider, which settles it in a batch a second later
    await n.settlement.made('settleBatch')
    await n.provider.runtime.idle()
    expect(n.settlement.calls).toEqual(['settleBatch'])
    expect(n.net.published.map(p => p.topic)).toContain('lilypad/deals')
    // the mediator told the mesh it is there, under its own signature
    const announced = n.net.published.filter(p => p.topic === 'lilypad/mediators').map(p => p.delivery.envelope)
    expect(announced).toEqual([expect.objectContaining({ type: 'MediatorAnnouncement', message: expect.objectContaining({ author: who.mediator.address, capacity: 2 }) })])
    expect(verifyEnvelope(toDomain(domain), announced[0]!).signers).toEqual([who.mediator.address])
    // the agreed deal now counts in every deposit check that node makes: the creator's with the provider, the solver's with others
    expect(n.creator.openDeals.locksOf(who.provider.address)).toEqual({ withOthers: 0n, withUs: 1900n })
    expect(n.solver.openDeals.locksOf(who.creator.address)).toEqual({ withOthers: 2300n, withUs: 0n })
    await expectAudited()
  })

  it('routes a challenge to the deal\'s mediator, drawn to judge, whose verdict reaches both parties and settles on chain', async () => {
    const n = await network({ provider: runnerGiving(HONEST), creator: runnerGiving(OTHER), mediator: runnerGiving(HONEST) }, { readsChallenges: true })
    const stream = await n.creator.submitJob(jobOffer(Date.now()), { checkRate: 1 })
    const job = await finished(n.creator, stream)
    expect(job).toMatchObject({ outcome: 'MediationAccepted', checked: true })
    await n.settlement.made('challengeResults')
    await n.settlement.made('settleVerdict')
    expect(n.settlement.calls).toEqual(expect.arrayContaining(['challengeResults', 'settleVerdict']))
    await expectAudited()
  })

  it('takes no message that arrives once it has stopped, and reports no error for it', async () => {
    const net = new MemoryNetwork()
    const log = await EventLog.inMemory()
    logs.push(log)
    const errors: Error[] = []
    const solver = await RoleHost.start({ roles: ['solver'], domain, solver: { solverFee: '5', mediatorFee: '50', batchDelayMs: 5 } }, {
      log, wallet: who.solver, transport: net.join(who.solver.address), runner: runnerGiving(HONEST),
      fetcher: { fetch: async () => true }, settlement: recordingChain(), onError: (err) => errors.push(err)
    })
    await solver.stop()
    const before = log.head().seq
    net.deliver(who.solver.address, { envelope: { type: 'JobOffer', message: jobOffer(Date.now()), signatures: ['0x00'] }, attachments: [], topic: JOB_OFFERS_TOPIC })
    await new Promise(resolve => setImmediate(resolve))
    expect(errors).toEqual([])
    expect(log.head().seq).toBe(before)
  })

  it('applies deliveries in the order they arrived, however many messages each carries', async () => {
    const n = await network({ provider: runnerGiving(HONEST), creator: runnerGiving(HONEST), mediator: runnerGiving(HONEST) })
    const now = Date.now()
    const offer = (nonce: number): Envelope => signMessage(who.creator, toDomain(domain), 'JobOffer', { ...jobOffer(now), nonce: String(nonce) })
    // the first carries three attachments to store, the second none: stored in parallel, the second would overtake
    const deliveries = [
      { envelope: offer(1), attachments: [offer(11), offer(12), offer(13)], topic: JOB_OFFERS_TOPIC },
      { envelope: offer(2), attachments: [], topic: JOB_OFFERS_TOPIC }
    ]
    await Promise.all(deliveries.map(d => n.solver.receive(d)))
    const solverLog = logs[1]!
    const nonces: string[] = []
    for await (const r of solverLog.read(1)) {
      const event = (r.data as { event?: { type: string, envelope?: Envelope } }).event
      if (r.type === 'input' && event?.envelope?.type === 'JobOffer') nonces.push((event.envelope!.message as { nonce: string }).nonce)
    }
    expect(nonces).toEqual(['1', '2'])
  })

  it('leaves no trace of a message its machines refuse, nor of one that concerns none of them', async () => {
    const n = await network({ provider: runnerGiving(HONEST), creator: runnerGiving(HONEST), mediator: runnerGiving(HONEST) })
    const solverLog = logs[1]!
    const before = solverLog.head().seq
    const forged: Envelope = { type: 'JobOffer', message: { ...jobOffer(Date.now()), nonce: '7' }, signatures: ['0x00'] }
    const stray = signMessage(who.creator, toDomain(domain), 'ResultsAccepted', { author: who.creator.address, nonce: '1', expiry: Date.now() + 60_000, dealId: '0x' + 'ab'.repeat(32), resultsCid: HONEST } as never)
    expect(await n.solver.receive({ envelope: forged, attachments: [], topic: JOB_OFFERS_TOPIC })).toEqual([])
    expect(await n.solver.receive({ envelope: stray, attachments: [] })).toEqual([])
    expect(n.solver.untaken).toBe(1)
    expect(solverLog.head().seq).toBe(before)
    for await (const key of solverLog.bucket('messages').keys()) expect(key).not.toMatch(/^id:/)
  })
})

