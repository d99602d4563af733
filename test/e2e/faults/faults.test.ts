/**
 * Every failure path end to end, on one devnet (real processes, libp2p on 127.0.0.1, the dev
 * chain, Docker): a cheating provider, a false challenge, missed submit, judge and mediate deadlines,
 * and each role killed (SIGKILL) at each deal state it takes part in, then restarted from its data
 * directory. Cases run in lanes, one provider each, side by side; the table at the end is the matrix.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Docker from 'dockerode'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dealLifetimeMs, startFaultNetwork, type DealCheck, type FaultJob, type FaultNetwork } from '../../support/fault-harness.ts'
import { removeTree } from '../../support/remove-tree.ts'
import type { FaultJobLine } from '../../support/fault-harness-job.ts'
import type { DealStatus } from '../../../src/node/server/deal-status.ts'
import { isDealOutcome, type DealOutcome } from '../../../src/state-machines/deal-states.ts'
import type { Deal } from '../../../src/protocols/messages/schemas.ts'
import { ActorRecord, type InputData, type OutputData } from '../../../src/actors/runtime/records.ts'
import { FAULT_RECORD } from '../../../src/node/faults.ts'
import { EventLog } from '../../../src/actors/eventlog/event-log.ts'

// each window holds a node's restart on a loaded two-core machine (20-50 s measured) and the work
// that follows it: a provider killed right after it co-signs is back before the agree deadline, and a
// deal that falls through leaves time to match again; the cases that wait a deadline out end within
// two minutes. A job offered while the solver restarts may reach it only when re-announced (every
// 150 s, past gossip's 2-minute memory of it): the match window holds that too (a match 171 s after
// the offer was measured)
const DEADLINES = { matchWithinMs: 300_000, agreeWithinMs: 60_000, submitWithinMs: 90_000, judgeWithinMs: 60_000, mediateWithinMs: 90_000 }

interface CaseResult {
  name: string
  role: string
  state: string
  restarted: string
  expected: DealOutcome[]
  outcomes: string[]
  checks: DealCheck[]
  done: FaultJobLine[]
}

type Lane = (net: FaultNetwork, provider: string) => Promise<CaseResult>

const of = (id: string) => (state: DealStatus['state']) => (d: DealStatus): boolean => d.jobOfferId === id && d.state === state

async function finish (net: FaultNetwork, c: Omit<CaseResult, 'outcomes' | 'checks' | 'done'>, jobs: FaultJob[], parties: string[]): Promise<CaseResult> {
  const done = await Promise.all(jobs.map(j => j.done()))
  const checks: DealCheck[] = []
  for (const line of done) if (line.dealId !== null && line.dealId !== undefined) checks.push(await net.checkDeal(line, parties))
  return { ...c, outcomes: done.map(d => String(d.outcome)), checks, done }
}

// ------------------------------------------------------------------ the cases

const cheatingProviderChallenged: Lane = async (net, provider) => {
  const jc = net.job('cheat-challenged', { provider, checkRate: 1 })
  await jc.start()
  return await finish(net, { name: 'cheating provider, checked', role: 'provider (cheats)', state: '-', restarted: '-', expected: ['MediationRejected'] }, [jc], [provider, 'mediator-1'])
}

/** The creator has no Docker engine: the check it draws cannot run there, so the mediator re-runs the job and catches the cheat. */
const cheatingProviderCheckedRemotely: Lane = async (net, provider) => {
  const jc = net.job('cheat-checked-remotely', { provider, checkRate: 1, noDocker: true })
  await jc.start()
  return await finish(net, { name: 'cheating provider, checked by the mediator', role: 'provider (cheats), creator without Docker', state: '-', restarted: '-', expected: ['MediationRejected'] }, [jc], [provider, 'mediator-1'])
}

const falseChallenge: Lane = async (net, provider) => {
  const jc = net.job('false-challenge', { provider, challengeHonestResults: true })
  await jc.start()
  return await finish(net, { name: 'job creator challenges honest results', role: 'job creator (false challenge)', state: '-', restarted: '-', expected: ['MediationAccepted'] }, [jc], [provider, 'mediator-1'])
}

/** The creator's challenge reaches the provider alone: the provider posts it on chain and brings it to the mediator. */
const wireOnlyChallenge: Lane = async (net, provider) => {
  const jc = net.job('wire-only-challenge', { provider, challengeHonestResults: true, wireOnlyChallenge: true })
  await jc.start()
  return await finish(net, { name: 'job creator challenges on the wire only', role: 'job creator (wire-only challenge)', state: '-', restarted: '-', expected: ['MediationAccepted'] }, [jc], [provider, 'mediator-1'])
}

/** The creator's challenge goes on chain only: the provider reads it there when its commitment fails, and brings it to the mediator. */
const chainOnlyChallenge: Lane = async (net, provider) => {
  const jc = net.job('chain-only-challenge', { provider, challengeHonestResults: true, chainOnlyChallenge: true })
  await jc.start()
  return await finish(net, { name: 'job creator challenges on chain only', role: 'job creator (chain-only challenge)', state: '-', restarted: '-', expected: ['MediationAccepted'] }, [jc], [provider, 'mediator-1'])
}

const providerGone: Lane = async (net, provider) => {
  const jc = net.job('provider-gone', { provider })
  await jc.start()
  const id = await jc.jobOfferId()
  // both parties hold the signed deal: the job creator has the provider's signature
  await jc.phase('awaitingResults')
  await net.killWhen(provider, 'the deal agreed', of(id)('Agreed'))
  const done = await jc.done()
  // back after the claim settled: its own log must end the deal the same way
  await net.restart(provider)
  const check = await net.checkDeal(done, [provider])
  return { name: 'provider killed after agreeing, never back in time', role: 'resource provider', state: 'Agreed', restarted: 'after the claim', expected: ['TimeoutSubmit'], outcomes: [String(done.outcome)], checks: [check], done: [done] }
}

const creatorSilent: Lane = async (net, provider) => {
  const jc = net.job('creator-silent', { provider })
  await jc.start('fetching')
  await jc.exited()
  const dealId = await jc.dealId()
  // the provider claims once the judge window after the submit deadline has passed
  const record = await waitSettled(net, dealId, 300_000)
  await jc.restart()
  const result = await finish(net, { name: 'job creator silent after results', role: 'job creator', state: 'ResultsSubmitted', restarted: 'after the claim', expected: ['TimeoutJudge'] }, [jc], [provider])
  expect(record.outcome).toBe('TimeoutJudge')
  return result
}

/**
 * A staked mediator that takes the case and dies before its verdict: the deal ends TimeoutMediate and
 * its stake pays the honest provider the price and the creator the results collateral (the deal's
 * payouts are checked against settle() with the slash).
 */
const mediatorSilent: Lane = async (net, provider) => {
  // no node restarts before the verdict is due: the agree, submit and judge windows need not hold one
  // (the mediate window still holds the module's 60 s timeout and the mediator's start on the case)
  const jc = net.job('mediator-silent', { provider, challengeHonestResults: true, mediators: ['mediator-2'], deadlines: { agreeWithinMs: 30_000, submitWithinMs: 75_000, judgeWithinMs: 30_000 } })
  await jc.start()
  const id = await jc.jobOfferId()
  const mediating = await net.waitFor('mediator-2', 'the mediation', of(id)('Mediating'))
  // killed once the chain shows the case taken, well before the re-run's verdict
  const taken = async (): Promise<boolean> => (await net.client.dealRecord(mediating.dealId ?? '')).caseTaken
  for (let tries = 0; !(await taken()) && tries < 600; tries++) await new Promise(resolve => setTimeout(resolve, 50))
  expect(await taken()).toBe(true)
  await net.devnet.node('mediator-2').kill('SIGKILL')
  const done = await jc.done()
  await net.restart('mediator-2')
  const check = await net.checkDeal(done, [provider, 'mediator-2'])
  const slashes = await net.client.settlement.queryFilter(net.client.settlement.filters.Slashed!(done.dealId), 0, 'latest')
  expect(slashes.length, 'the silent mediator paid both parties from its stake').toBe(2)
  return { name: 'mediator silent', role: 'mediator', state: 'Mediating', restarted: 'after the claim', expected: ['TimeoutMediate'], outcomes: [String(done.outcome)], checks: [check], done: [done] }
}

/** The job creator kills itself once its log records `phase`, and starts again. */
function creatorCrash (phase: 'offering' | 'agreeing' | 'awaitingResults' | 'fetching' | 'verifying' | 'challenged', state: string, checkRate: number, expected: DealOutcome, parties: (p: string) => string[]): Lane {
  return async (net, provider) => {
    const jc = net.job(`creator-${phase}`, { provider, checkRate })
    await jc.start(phase)
    const exit = await jc.exited()
    expect(exit.signal).toBe('SIGKILL')
    await jc.restart()
    return await finish(net, { name: `job creator killed ${phase}`, role: 'job creator', state, restarted: 'at once', expected: [expected] }, [jc], parties(provider))
  }
}

/** `node` is killed once the job's deal reaches `state` there, and restarted. */
function nodeCrash (node: (provider: string) => string, role: string, state: DealStatus['state'], checkRate: number, expected: DealOutcome, parties: (p: string) => string[]): Lane {
  return async (net, provider) => {
    const target = node(provider)
    const jc = net.job(`${role.replace(/ /g, '-')}-${state}`, { provider, checkRate })
    await jc.start()
    const id = await jc.jobOfferId()
    await net.killWhen(target, state, of(id)(state))
    await net.restart(target)
    return await finish(net, { name: `${role} killed at ${state}`, role, state, restarted: 'at once', expected: [expected] }, [jc], parties(provider))
  }
}

/** The deal waits on the job creator (killed after signing) while `node` is killed and restarted. */
function nodeCrashWhileMatched (node: (provider: string) => string, role: string): Lane {
  return async (net, provider) => {
    const target = node(provider)
    const jc = net.job(`${role.replace(/ /g, '-')}-Matched`, { provider })
    await jc.start('agreeing')
    await jc.exited()
    const id = await jc.jobOfferId()
    await net.killWhen(target, 'Matched', of(id)('Matched'))
    await Promise.all([net.restart(target), jc.restart()])
    return await finish(net, { name: `${role} killed at Matched`, role, state: 'Matched', restarted: 'at once', expected: ['Accepted'] }, [jc], [provider])
  }
}

const same = (p: string): string => p
const withMediator = (p: string): string[] => [p, 'mediator-1']
const alone = (p: string): string[] => [p]

/**
 * A slow job holds the provider's only slot, so a second job for it waits in the solver's book
 * (JobOffered) while the solver is killed and restarted: the restarted solver must still know the
 * job and the provider's offer, and match them once the slot is free.
 */
const solverJobOffered: Lane = async (net, provider) => {
  const first = net.job('slow-solver-JobOffered', { provider })
  await first.start()
  const firstId = await first.jobOfferId()
  await net.waitFor(provider, 'the slow job agreed', of(firstId)('Agreed'))
  // it waits for the first deal to end on both sides, which under load may take all of the first
  // job's windows: its own match window outlasts them
  const second = net.job('solver-JobOffered', { provider, deadlines: { matchWithinMs: dealLifetimeMs(DEADLINES) } })
  await second.start()
  const id = await second.jobOfferId()
  await net.killWhen('solver-1', 'JobOffered', of(id)('JobOffered'))
  await net.restart('solver-1')
  return await finish(net, { name: 'solver killed at JobOffered', role: 'solver', state: 'JobOffered', restarted: 'at once', expected: ['Accepted', 'Accepted'] }, [first, second], [provider])
}

const lanes: Record<string, Lane[]> = {
  'provider-1': [
    cheatingProviderChallenged,
    creatorCrash('challenged', 'Mediating', 1, 'MediationRejected', withMediator),
    nodeCrash(same, 'resource provider', 'Mediating', 1, 'MediationRejected', withMediator),
    nodeCrash(() => 'mediator-1', 'mediator', 'Mediating', 1, 'MediationRejected', withMediator),
    cheatingProviderCheckedRemotely
  ],
  'provider-2': [falseChallenge, mediatorSilent, solverJobOffered],
  'provider-3': [providerGone, nodeCrashWhileMatched(same, 'resource provider'), nodeCrash(same, 'resource provider', 'Agreed', 0, 'Accepted', alone), chainOnlyChallenge],
  'provider-4': [creatorSilent, nodeCrash(same, 'resource provider', 'ResultsSubmitted', 1, 'Accepted', alone), wireOnlyChallenge],
  'provider-5': [
    creatorCrash('offering', 'JobOffered', 0, 'Accepted', alone),
    creatorCrash('agreeing', 'Matched', 0, 'Accepted', alone),
    creatorCrash('awaitingResults', 'Agreed', 0, 'Accepted', alone),
    creatorCrash('fetching', 'ResultsSubmitted', 0, 'Accepted', alone),
    creatorCrash('verifying', 'ResultsSubmitted (checking)', 1, 'Accepted', alone),
    nodeCrashWhileMatched(() => 'solver-1', 'solver')
  ]
}

/** FAULTS_LANES=provider-3,provider-5 runs those lanes only (to work on a case; CI runs them all). */
const chosenLanes = Object.entries(lanes).filter(([provider]) =>
  process.env.FAULTS_LANES === undefined || process.env.FAULTS_LANES.split(',').includes(provider))

async function waitSettled (net: FaultNetwork, dealId: string, timeoutMs: number): Promise<{ outcome: string | undefined }> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const record = await net.client.dealRecord(dealId).catch(() => undefined)
    if (record?.state === 'Settled') return record
    if (Date.now() > end) throw new Error(`deal ${dealId} not settled within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 250))
  }
}

// ------------------------------------------------------------------ the run

describe('faults, end to end', () => {
  let dir: string
  let net: FaultNetwork
  const started = Date.now()
  const results = new Map<string, Promise<CaseResult>>()
  const settledResults: CaseResult[] = []
  let stopped = false

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lilypad-faults-'))
    net = await startFaultNetwork({
      dir,
      cheatingProviders: 1,
      honestProviders: 4,
      mediators: 2,
      jobCreators: 24,
      deadlines: DEADLINES,
      runSeconds: 2,
      slowRunSeconds: 60,
      log: (line) => { if (process.env.FAULTS_VERBOSE !== undefined) process.stdout.write(`  [${((Date.now() - started) / 1000).toFixed(1)} s] ${line}\n`) }
    })
    for (const [provider, cases] of chosenLanes) {
      let previous: Promise<unknown> = Promise.resolve()
      for (const [i, run] of cases.entries()) {
        const result = previous.then(() => run(net, provider), () => run(net, provider))
        result.catch(() => undefined)
        results.set(`${provider}#${i}`, result)
        previous = result
      }
    }
  }, 240_000)

  afterAll(async () => {
    if (!stopped) await net?.stop().catch(() => undefined)
    // a provider killed during a run leaves its outputs filesystems mounted under dir
    if (dir !== undefined && process.env.FAULTS_KEEP === undefined) await removeTree(dir)
  })

  const expectCase = async (key: string): Promise<void> => {
    const r = await results.get(key)!
    settledResults.push(r)
    expect(r.outcomes, r.name).toEqual(r.expected)
    for (const check of r.checks) {
      expect(check.detail, `${r.name}: ${check.dealId}`).toEqual([])
      expect(check.chainOutcome).toBe(check.outcome)
      expect(check.payoutsExact).toBe(true)
      expect(check.partiesAgree).toBe(true)
    }
  }

  for (const [provider, cases] of chosenLanes) {
    for (const [i] of cases.entries()) {
      // a case waits on the one before it in its lane: each may last as long as a deal can
      it(`case ${provider}#${i}`, async () => { await expectCase(`${provider}#${i}`) }, dealLifetimeMs(DEADLINES) + 240_000)
    }
  }

  it('balances are exact, nothing doubled, every log audits, and the matrix prints', async () => {
    const all = await Promise.allSettled([...results.values()])
    const finished = all.flatMap(r => r.status === 'fulfilled' ? [r.value] : [])
    const deals = finished.flatMap(r => r.done).filter(d => d.deal !== null && d.deal !== undefined && isDealOutcome(d.outcome))
      .map(d => ({ deal: d.deal as Deal, outcome: d.outcome as DealOutcome }))
    const balances = await net.checkBalances(deals)
    await net.stop()
    stopped = true
    const audits = await net.auditAll()

    const dealIds = finished.flatMap(r => r.done).flatMap(d => typeof d.dealId === 'string' ? [d.dealId] : [])
    const doubled: string[] = []
    for (const { name, report } of audits) {
      const outputs = new Set<string>()
      const effects = new Set<string>()
      for (const record of report.history ?? []) {
        if (record.type === ActorRecord.output) {
          const { stream, output } = record.data as OutputData
          const key = `${stream} ${output.id}`
          if (outputs.has(key)) doubled.push(`${name}: output ${key} twice`)
          outputs.add(key)
        }
        if (record.type === ActorRecord.input) {
          const { stream, event } = record.data as InputData
          if (typeof event.effect !== 'string' || event.type === 'effect.failed') continue
          const key = `${stream} ${event.effect}`
          if (effects.has(key)) doubled.push(`${name}: result of ${key} twice`)
          effects.add(key)
        }
      }
    }
    const faultCounts = new Map<string, number>()
    for (const [name, dataDir] of net.logDirs()) {
      const eventLog = await EventLog.open(join(dataDir, 'log'), { inspect: true })
      let n = 0
      for await (const record of eventLog.read(1)) if (record.type === FAULT_RECORD) n++
      await eventLog.close()
      faultCounts.set(name, n)
    }
    const faultRecords = (name: string): number => faultCounts.get(name) ?? 0
    const containers = await new Docker().listContainers({ all: true })
    const leftover = containers.filter(c => dealIds.some(id => (c.Labels['org.lilypad.job-id'] ?? '').includes(id.slice(2, 18))))

    const payoutsOk = (r: CaseResult): boolean => r.checks.length > 0 && r.checks.every(c => c.payoutsExact && c.chainOutcome === c.outcome)
    const rows = [...results.keys()].map((key, i) => {
      const r = all[i]!.status === 'fulfilled' ? (all[i] as PromiseFulfilledResult<CaseResult>).value : undefined
      if (r === undefined) return `| ${key} | (failed: ${String((all[i] as PromiseRejectedResult).reason?.message ?? '').slice(0, 80)}) | | | | | |`
      const outcome = r.outcomes.join(', ')
      return `| ${r.role} | ${r.state} | ${r.restarted} | ${outcome} | ${r.outcomes.join() === r.expected.join() ? 'yes' : `no (expected ${r.expected.join(', ')})`} | ${payoutsOk(r) ? 'ok' : 'NO'} | ${r.checks.every(c => c.partiesAgree) ? 'yes' : 'NO'} |`
    })
    const table = [
      '| role killed | at deal state | restarted | outcome | as expected | payouts exact | parties agree |',
      '|---|---|---|---|---|---|---|',
      ...rows
    ].join('\n')
    process.stdout.write(`\n${table}\n\nescrow balances of every account exact to the wei: ${balances.ok ? 'yes' : 'NO'} (${deals.length} deals)` +
      `\naudit (lilypad audit) of ${audits.length} logs: ${audits.filter(a => a.exitCode === 0).length} pass` +
      audits.filter(a => a.exitCode !== 0).map(a => `\n  audit fails: ${a.name}: ${a.report.failure?.reason ?? ''}`).join('') +
      `\ndoubled records: ${doubled.length}; leftover job containers: ${leftover.length}` +
      `\nfault switches recorded: provider-1 ${faultRecords('provider-1')}, false challenger ${faultRecords('job false-challenge')}` +
      `\nwall time: ${((Date.now() - started) / 1000).toFixed(0)} s\n`)

    expect(all.filter(r => r.status === 'rejected').map(r => String((r as PromiseRejectedResult).reason))).toEqual([])
    expect(balances.lines).toEqual([])
    expect(audits.filter(a => a.exitCode !== 0).map(a => `${a.name}: ${a.report.failure?.reason ?? ''}`)).toEqual([])
    expect(doubled).toEqual([])
    expect(leftover.map(c => c.Names[0])).toEqual([])
    if (chosenLanes.some(([p]) => p === 'provider-1')) {
      expect(faultRecords('provider-1')).toBeGreaterThan(0)
      expect(faultRecords('job cheat-challenged')).toBe(0)
    }
    if (chosenLanes.some(([p]) => p === 'provider-2')) expect(faultRecords('job false-challenge')).toBe(1)
  }, 600_000)
})
