import { describe, expect, it } from 'vitest'
import type { Activity, DealChange, EffectChange } from '../../../../src/node/activity/deal-activity.ts'
import { runtimeDealBook } from '../../../../src/node/metrics/deal-book.ts'
import type { ActivitySource, DealBook, NodeReadings } from '../../../../src/node/metrics/metric-sources.ts'
import { NodeMetrics } from '../../../../src/node/metrics/node-metrics.ts'
import type { DealStatus } from '../../../../src/node/server/deal-status.ts'
import type { Deal } from '../../../../src/protocols/messages/schemas.ts'
import type { ValidationCounter } from '../../../../src/protocols/mesh/validation-adapter.ts'
import type { RunsAheadCounts } from '../../../../src/node/adapters/warm-runs.ts'

const DEAL = '0x' + 'd1'.repeat(32)
const OTHER_DEAL = '0x' + 'd2'.repeat(32)

/** Stands in for a node's DealActivity: tells what the test makes happen, and holds the states the test sets. */
class FakeActivity implements ActivitySource {
  statuses: DealStatus[] = []
  private readonly listeners = new Set<(activity: Activity) => void>()

  subscribe (listener: (activity: Activity) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  current (): DealStatus[] {
    return this.statuses
  }

  deal (change: Omit<DealChange, 'kind' | 'jobOfferId' | 'resultsCid'>): void {
    this.emit({ kind: 'deal', jobOfferId: '0x' + '0f'.repeat(32), resultsCid: null, ...change })
  }

  effect (change: Omit<EffectChange, 'dealId'>): void {
    this.emit({ dealId: null, ...change })
  }

  private emit (activity: Activity): void {
    for (const listener of this.listeners) listener(activity)
  }
}

interface Fixture {
  metrics: NodeMetrics
  activity: FakeActivity
  readings: { peers: number, logRecords: number, pendingEffects: number, untaken: number, validation: ValidationCounter[], runsAhead?: RunsAheadCounts }
  stop: () => void
}

function fixture (book: Partial<DealBook> = {}): Fixture {
  const activity = new FakeActivity()
  const readings: Fixture['readings'] = { peers: 0, logRecords: 0, pendingEffects: 0, untaken: 0, validation: [] }
  const node: NodeReadings = {
    peers: () => readings.peers,
    logRecords: () => readings.logRecords,
    pendingEffects: () => readings.pendingEffects,
    untakenMessages: () => readings.untaken,
    validation: () => readings.validation,
    runsAhead: () => readings.runsAhead
  }
  const deals: DealBook = { termsOf: () => undefined, lockedCollateral: () => [], ...book }
  const metrics = new NodeMetrics()
  const stop = metrics.follow({ activity, deals, node })
  return { metrics, activity, readings, stop }
}

/** The value of one sample (`name` may end in _count, _sum or _bucket), the first whose labels include `labels`. */
async function sample (metrics: NodeMetrics, name: string, labels: Record<string, string | number> = {}): Promise<number | undefined> {
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    for (const value of metric.values) {
      const sampleName = (value as { metricName?: string }).metricName ?? metric.name
      if (sampleName !== name) continue
      if (Object.entries(labels).every(([k, v]) => value.labels[k] === v)) return value.value
    }
  }
  return undefined
}

describe('NodeMetrics', () => {
  it('counts deal transitions, each deal\'s end once with its price, and a job creator\'s time to match', async () => {
    const { metrics, activity } = fixture({ termsOf: (stream, dealId) => stream === 'job:a' && dealId === DEAL ? { price: '2500' } as Deal : undefined })
    const jc = { role: 'job-creator' as const, stream: 'job:a' }
    activity.deal({ ...jc, dealId: null, from: null, to: 'JobOffered', at: 1_000 })
    activity.deal({ ...jc, dealId: DEAL, from: 'JobOffered', to: 'Matched', at: 1_750 })
    activity.deal({ ...jc, dealId: DEAL, from: 'Matched', to: 'Agreed', at: 2_000 })
    activity.deal({ ...jc, dealId: DEAL, from: 'Agreed', to: 'Accepted', at: 3_000 })
    // an end corrected to another end is the same deal, not another one
    activity.deal({ ...jc, dealId: DEAL, from: 'Accepted', to: 'TimeoutJudge', at: 3_500 })
    // a job that found no match has no time to match
    activity.deal({ role: 'job-creator', stream: 'job:b', dealId: null, from: null, to: 'JobOffered', at: 1_000 })
    activity.deal({ role: 'job-creator', stream: 'job:b', dealId: null, from: 'JobOffered', to: 'TimeoutMatch', at: 9_000 })
    // a mediator's case first seen at an end was not followed to it
    activity.deal({ role: 'mediator', stream: 'mediator', dealId: OTHER_DEAL, from: null, to: 'MediationAccepted', at: 1_000 })

    expect(await sample(metrics, 'lilypad_deal_transitions_total', { role: 'job-creator', to: 'Matched' })).toBe(1)
    expect(await sample(metrics, 'lilypad_deal_transitions_total', { role: 'job-creator', to: 'JobOffered' })).toBe(2)
    expect(await sample(metrics, 'lilypad_deal_outcomes_total', { role: 'job-creator', outcome: 'Accepted' })).toBe(1)
    expect(await sample(metrics, 'lilypad_deal_outcomes_total', { role: 'job-creator', outcome: 'TimeoutJudge' })).toBeUndefined()
    expect(await sample(metrics, 'lilypad_deal_outcomes_total', { role: 'job-creator', outcome: 'TimeoutMatch' })).toBe(1)
    expect(await sample(metrics, 'lilypad_deal_outcomes_total', { role: 'mediator' })).toBeUndefined()
    expect(await sample(metrics, 'lilypad_deal_price_wei_total', { role: 'job-creator', outcome: 'Accepted' })).toBe(2500)
    expect(await sample(metrics, 'lilypad_job_time_to_match_seconds_count')).toBe(1)
    expect(await sample(metrics, 'lilypad_job_time_to_match_seconds_sum')).toBeCloseTo(0.75)
    expect(await sample(metrics, 'lilypad_job_time_to_match_seconds_bucket', { le: 0.5 })).toBe(0)
    expect(await sample(metrics, 'lilypad_job_time_to_match_seconds_bucket', { le: 1 })).toBe(1)
  })

  it('times job runs from start to end, and counts failed runs, results fetches and effects by type and result', async () => {
    const { metrics, activity } = fixture()
    const rp = { stream: 'resource-provider' }
    activity.effect({ ...rp, kind: 'effect.start', id: `run:${DEAL}`, type: 'job.run', at: 10_000 })
    activity.effect({ ...rp, kind: 'effect.start', id: `run:${OTHER_DEAL}`, type: 'job.run', at: 10_000 })
    activity.effect({ ...rp, kind: 'effect.end', id: `run:${DEAL}`, type: 'job.run', at: 12_500 })
    activity.effect({ ...rp, kind: 'effect.end', id: `run:${OTHER_DEAL}`, type: 'job.run', error: 'image not found', at: 10_100 })
    activity.effect({ ...rp, kind: 'effect.start', id: `fetch:${DEAL}`, type: 'results.fetch', at: 13_000 })
    activity.effect({ ...rp, kind: 'effect.end', id: `fetch:${DEAL}`, type: 'results.fetch', at: 13_100 })
    activity.effect({ ...rp, kind: 'effect.end', id: `fetch:${OTHER_DEAL}`, type: 'results.fetch', error: 'no provider answers', at: 14_000 })
    activity.effect({ ...rp, kind: 'effect.end', id: `settle:${DEAL}`, type: 'chain.settle', at: 15_000 })

    expect(await sample(metrics, 'lilypad_job_run_duration_seconds_count')).toBe(1)
    expect(await sample(metrics, 'lilypad_job_run_duration_seconds_sum')).toBeCloseTo(2.5)
    expect(await sample(metrics, 'lilypad_job_run_failures_total')).toBe(1)
    expect(await sample(metrics, 'lilypad_results_fetches_total', { result: 'ok' })).toBe(1)
    expect(await sample(metrics, 'lilypad_results_fetches_total', { result: 'failed' })).toBe(1)
    expect(await sample(metrics, 'lilypad_effects_total', { type: 'job.run', result: 'ok' })).toBe(1)
    expect(await sample(metrics, 'lilypad_effects_total', { type: 'job.run', result: 'failed' })).toBe(1)
    expect(await sample(metrics, 'lilypad_effects_total', { type: 'chain.settle', result: 'ok' })).toBe(1)
  })

  it('counts the solver\'s proposals, and its rounds by the round time its proposals are named for', async () => {
    const { metrics, activity } = fixture()
    const propose = (id: string): void => { activity.effect({ kind: 'effect.start', stream: 'solver', id, type: 'message.send', at: 0 }) }
    propose('propose:0xj1:0xo1:1700000000000')
    propose('propose:0xj2:0xo2:1700000000000')
    propose('propose:0xj3:0xo1:1700000000060')
    activity.effect({ kind: 'effect.start', stream: 'solver', id: 'reject:0xj4', type: 'message.send', at: 0 })
    activity.effect({ kind: 'effect.start', stream: 'resource-provider', id: 'propose:0xj5:0xo5:1', type: 'message.send', at: 0 })
    expect(await sample(metrics, 'lilypad_solver_proposals_total')).toBe(3)
    expect(await sample(metrics, 'lilypad_solver_rounds_total')).toBe(2)
  })

  it('reads deals by state, collateral at risk, peers, log, effects under way and gossip validation at each scrape', async () => {
    const { metrics, activity, readings } = fixture({ lockedCollateral: () => [{ role: 'resource-provider', wei: 7n * 10n ** 18n }] })
    const status = (role: DealStatus['role'], state: DealStatus['state']): DealStatus => ({ role, state, jobOfferId: '0x', dealId: null, resultsCid: null })
    activity.statuses = [status('resource-provider', 'Accepted'), status('resource-provider', 'Accepted'), status('resource-provider', 'Agreed')]
    Object.assign(readings, {
      peers: 4,
      logRecords: 1234,
      pendingEffects: 2,
      untaken: 9,
      validation: [{ topic: 'job-offers', result: 'accept', code: 'OK', count: 30 }, { topic: 'job-offers', result: 'reject', code: 'BAD_SIGNATURE', count: 2 }]
    })
    expect(await sample(metrics, 'lilypad_deals', { role: 'resource-provider', state: 'Accepted' })).toBe(2)
    expect(await sample(metrics, 'lilypad_deals', { role: 'resource-provider', state: 'Agreed' })).toBe(1)
    expect(await sample(metrics, 'lilypad_collateral_at_risk_wei', { role: 'resource-provider' })).toBe(7e18)
    expect(await sample(metrics, 'lilypad_peers')).toBe(4)
    expect(await sample(metrics, 'lilypad_log_records')).toBe(1234)
    expect(await sample(metrics, 'lilypad_pending_effects')).toBe(2)
    expect(await sample(metrics, 'lilypad_untaken_messages_total')).toBe(9)
    expect(await sample(metrics, 'lilypad_gossip_validations_total', { topic: 'job-offers', result: 'reject', code: 'BAD_SIGNATURE' })).toBe(2)

    // a state no deal holds any more is gone, not left at its last count
    activity.statuses = [status('resource-provider', 'Accepted')]
    readings.untaken = 11
    expect(await sample(metrics, 'lilypad_deals', { role: 'resource-provider', state: 'Agreed' })).toBeUndefined()
    expect(await sample(metrics, 'lilypad_untaken_messages_total')).toBe(11)
  })

  it('counts a provider\'s runs ahead by outcome, and none on a node that runs no jobs', async () => {
    const { metrics, readings } = fixture()
    expect(await sample(metrics, 'lilypad_runs_ahead_total', { outcome: 'started' })).toBeUndefined()
    readings.runsAhead = { started: 5, taken: 3, stopped: 1, refused: 2 }
    expect(await sample(metrics, 'lilypad_runs_ahead_total', { outcome: 'started' })).toBe(5)
    expect(await sample(metrics, 'lilypad_runs_ahead_total', { outcome: 'taken' })).toBe(3)
    expect(await sample(metrics, 'lilypad_runs_ahead_total', { outcome: 'stopped' })).toBe(1)
    expect(await sample(metrics, 'lilypad_runs_ahead_total', { outcome: 'refused' })).toBe(2)
  })

  it('counts settlement transactions by method and result, and the gas the mined ones used', async () => {
    const metrics = new NodeMetrics()
    metrics.chainTransaction({ method: 'settleAccepted', gasUsed: 80_000n })
    metrics.chainTransaction({ method: 'settleAccepted', gasUsed: 75_000n })
    metrics.chainTransaction({ method: 'settleAccepted', code: 'ALREADY_SETTLED' })
    expect(await sample(metrics, 'lilypad_chain_transactions_total', { method: 'settleAccepted', result: 'ok' })).toBe(2)
    expect(await sample(metrics, 'lilypad_chain_transactions_total', { method: 'settleAccepted', result: 'ALREADY_SETTLED' })).toBe(1)
    expect(await sample(metrics, 'lilypad_chain_gas_used_total', { method: 'settleAccepted' })).toBe(155_000)
  })

  it('keeps each node\'s metrics apart, stops following when told, and follows one node only', async () => {
    const a = fixture()
    const b = fixture()
    a.activity.deal({ role: 'job-creator', stream: 'job:a', dealId: null, from: null, to: 'JobOffered', at: 0 })
    expect(await sample(a.metrics, 'lilypad_deal_transitions_total', { to: 'JobOffered' })).toBe(1)
    expect(await sample(b.metrics, 'lilypad_deal_transitions_total', { to: 'JobOffered' })).toBeUndefined()
    a.stop()
    a.activity.deal({ role: 'job-creator', stream: 'job:b', dealId: null, from: null, to: 'JobOffered', at: 0 })
    expect(await sample(a.metrics, 'lilypad_deal_transitions_total', { to: 'JobOffered' })).toBe(1)
    expect(() => a.metrics.follow({ activity: a.activity, deals: { termsOf: () => undefined, lockedCollateral: () => [] }, node: { peers: () => 0, logRecords: () => 0, pendingEffects: () => 0, untakenMessages: () => 0, validation: () => [], runsAhead: () => undefined } })).toThrow(/one node/)
  })

  it('scrapes to the Prometheus text format', async () => {
    const { metrics, activity } = fixture()
    activity.deal({ role: 'resource-provider', stream: 'resource-provider', dealId: DEAL, from: 'ResultsSubmitted', to: 'Accepted', at: 0 })
    const text = await metrics.scrape()
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(text).toMatch(/^# HELP lilypad_deal_outcomes_total .+$/m)
    expect(text).toMatch(/^# TYPE lilypad_deal_outcomes_total counter$/m)
    expect(text).toMatch(/^lilypad_deal_outcomes_total\{role="resource-provider",outcome="Accepted"\} 1$/m)
    expect(text).toMatch(/^# TYPE lilypad_job_run_duration_seconds histogram$/m)
  })
})

describe('runtimeDealBook', () => {
  const deal = (n: number): Deal => ({
    price: String(n), solverFee: '0', mediatorFee: '0', paymentCollateral: String(10 * n), jobCreatorTimeoutCollateral: String(n), resultsCollateral: String(3 * n), timeoutCollateral: String(2 * n)
  }) as Deal
  const contexts: Record<string, unknown> = {
    'job:a': { phase: 'awaitingResults', deal: deal(1), dealId: DEAL },
    'job:b': { phase: 'agreeing', deal: deal(100), dealId: OTHER_DEAL },
    'job:c': { phase: 'done', deal: deal(1000), dealId: OTHER_DEAL },
    'resource-provider': {
      deals: { [DEAL]: { state: 'Agreed', deal: deal(5) }, [OTHER_DEAL]: { state: 'Matched', deal: deal(500) } },
      endedDeals: [{ dealId: '0xended', state: 'Accepted', deal: deal(7) }]
    },
    mediator: { mediations: { [DEAL]: { deal: deal(9) } } }
  }
  const book = runtimeDealBook({ streams: () => Object.keys(contexts), snapshot: (stream: string) => ({ context: contexts[stream] }) as never })

  it('finds a deal\'s terms in the machine of its stream, under way or ended', () => {
    expect(book.termsOf('job:a', DEAL)?.price).toBe('1')
    expect(book.termsOf('job:a', OTHER_DEAL)).toBeUndefined()
    expect(book.termsOf('resource-provider', DEAL)?.price).toBe('5')
    expect(book.termsOf('resource-provider', '0xended')?.price).toBe('7')
    expect(book.termsOf('mediator', DEAL)?.price).toBe('9')
    expect(book.termsOf('solver', DEAL)).toBeUndefined()
  })

  it('sums what is locked in agreed deals without an outcome: the creator\'s payment and timeout collateral, the provider\'s results and timeout collateral', () => {
    expect(book.lockedCollateral()).toEqual([{ role: 'job-creator', wei: 11n }, { role: 'resource-provider', wei: 25n }])
  })
})
