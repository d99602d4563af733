import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { DEAL_OUTCOMES, type DealState } from '../../state-machines/deal-states.ts'
import type { DealChange } from '../activity/deal-activity.ts'
import type { ActivitySource, DealBook } from './metric-sources.ts'

/** The states a deal ends in: the outcomes that move locked funds, and the two timeouts before anything was locked. */
const ENDS: ReadonlySet<DealState> = new Set<DealState>([...DEAL_OUTCOMES, 'TimeoutMatch', 'TimeoutAgree'])

/** Seconds from a job's offer to its match: a solver round is tens of ms, an empty market minutes. */
const MATCH_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]

/** Deals by state and how they end, the price of those that ended, the collateral locked now, and the time jobs wait for a match. */
export class DealMetrics {
  private readonly transitions: Counter<'role' | 'to'>
  private readonly outcomes: Counter<'role' | 'outcome'>
  private readonly endedPrice: Counter<'role' | 'outcome'>
  private readonly timeToMatch: Histogram
  /** when each job-creator stream last offered its job, until it leaves JobOffered */
  private readonly offeredAt = new Map<string, number>()

  constructor (registry: Registry, activity: ActivitySource, private readonly book: DealBook) {
    const registers = [registry]
    new Gauge({
      name: 'lilypad_deals',
      help: 'Deals (job offers, before they have a deal) this node\'s machines hold now, by the node\'s role and the deal state; an ended deal counts in its outcome while the machine keeps it',
      labelNames: ['role', 'state'],
      registers,
      collect () {
        const counts = new Map<string, { role: string, state: string, n: number }>()
        for (const { role, state } of activity.current()) {
          const key = `${role}\u0000${state}`
          const count = counts.get(key)
          if (count === undefined) counts.set(key, { role, state, n: 1 })
          else count.n++
        }
        this.reset()
        for (const { role, state, n } of counts.values()) this.set({ role, state }, n)
      }
    })
    new Gauge({
      name: 'lilypad_collateral_at_risk_wei',
      help: 'Wei this node has locked in deals under way (agreed, no outcome yet), by its role: a provider\'s results and timeout collateral, a job creator\'s payment and timeout collateral',
      labelNames: ['role'],
      registers,
      collect () {
        this.reset()
        for (const { role, wei } of book.lockedCollateral()) this.set({ role }, Number(wei))
      }
    })
    this.transitions = new Counter({ name: 'lilypad_deal_transitions_total', help: 'Deal state changes in this node\'s machines, by role and the state entered', labelNames: ['role', 'to'], registers })
    this.outcomes = new Counter({ name: 'lilypad_deal_outcomes_total', help: 'Deals of this node that reached an end state (an outcome, TimeoutMatch or TimeoutAgree), by role and that state', labelNames: ['role', 'outcome'], registers })
    this.endedPrice = new Counter({
      name: 'lilypad_deal_price_wei_total',
      help: 'Sum of the agreed price of the deals counted in lilypad_deal_outcomes_total whose terms the node held, wei, by role and outcome: the provider is paid it on Accepted, MediationAccepted and TimeoutJudge',
      labelNames: ['role', 'outcome'],
      registers
    })
    this.timeToMatch = new Histogram({ name: 'lilypad_job_time_to_match_seconds', help: 'Seconds from a job creator\'s (re)offer of a job to its leaving JobOffered for a match', buckets: MATCH_BUCKETS, registers })
  }

  record (change: DealChange): void {
    this.transitions.inc({ role: change.role, to: change.to })
    if (change.role === 'job-creator') this.timeMatch(change)
    // a deal counts once, when it first reaches an end: one first seen there was not followed (a mediator's case not yet taken)
    if (!ENDS.has(change.to) || change.from === null || ENDS.has(change.from)) return
    this.outcomes.inc({ role: change.role, outcome: change.to })
    const terms = change.dealId === null ? undefined : this.book.termsOf(change.stream, change.dealId)
    if (terms !== undefined) this.endedPrice.inc({ role: change.role, outcome: change.to }, Number(terms.price))
  }

  private timeMatch ({ stream, from, to, at }: DealChange): void {
    if (to === 'JobOffered') {
      this.offeredAt.set(stream, at)
      return
    }
    if (from !== 'JobOffered') return
    const since = this.offeredAt.get(stream)
    this.offeredAt.delete(stream)
    if (since !== undefined && to !== 'TimeoutMatch') this.timeToMatch.observe((at - since) / 1000)
  }
}
