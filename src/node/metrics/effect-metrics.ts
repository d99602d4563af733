import { Counter, Histogram, type Registry } from 'prom-client'
import type { EffectChange } from '../activity/deal-activity.ts'

/** Seconds a job runs, pull and fetch of inputs included: cowsay takes a second, a real job up to its timeout. */
const RUN_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]

/** The solver's proposals are sent as `propose:<job>:<offer>:<round time>`. */
const PROPOSAL = /^propose:.*:(\d+)$/

/** What the machines' effects do: how each kind ends, how long jobs run, what the solver proposes. */
export class EffectMetrics {
  private readonly effects: Counter<'type' | 'result'>
  private readonly jobRuns: Histogram
  private readonly jobRunFailures: Counter
  private readonly resultsFetches: Counter<'result'>
  private readonly proposals: Counter
  private readonly rounds: Counter
  /** when each job.run under way began, by stream and output id */
  private readonly runsStarted = new Map<string, number>()
  private lastRound: string | undefined

  constructor (registry: Registry) {
    const registers = [registry]
    this.effects = new Counter({ name: 'lilypad_effects_total', help: 'Effects of this node\'s machines that ended, by output type (chain.settle, job.run, message.send, ...) and result (ok, failed)', labelNames: ['type', 'result'], registers })
    this.jobRuns = new Histogram({ name: 'lilypad_job_run_duration_seconds', help: 'Seconds from the start of a job.run effect to its end without error', buckets: RUN_BUCKETS, registers })
    this.jobRunFailures = new Counter({ name: 'lilypad_job_run_failures_total', help: 'job.run effects that ended with an error', registers })
    this.resultsFetches = new Counter({ name: 'lilypad_results_fetches_total', help: 'results.fetch effects that ended, by result (ok, failed)', labelNames: ['result'], registers })
    this.proposals = new Counter({ name: 'lilypad_solver_proposals_total', help: 'Match proposals this node\'s solver sent', registers })
    this.rounds = new Counter({ name: 'lilypad_solver_rounds_total', help: 'Matching rounds of this node\'s solver that proposed at least one match', registers })
  }

  record (change: EffectChange): void {
    if (change.kind === 'effect.start') {
      this.started(change)
      return
    }
    const result = change.error === undefined ? 'ok' : 'failed'
    this.effects.inc({ type: change.type, result })
    if (change.type === 'results.fetch') this.resultsFetches.inc({ result })
    if (change.type !== 'job.run') return
    const key = `${change.stream}\u0000${change.id}`
    const since = this.runsStarted.get(key)
    this.runsStarted.delete(key)
    if (change.error !== undefined) this.jobRunFailures.inc()
    // a run resumed after a restart began before anyone measured it
    else if (since !== undefined) this.jobRuns.observe((change.at - since) / 1000)
  }

  private started ({ stream, id, type, at }: EffectChange): void {
    if (type === 'job.run') this.runsStarted.set(`${stream}\u0000${id}`, at)
    if (stream !== 'solver' || type !== 'message.send') return
    const round = PROPOSAL.exec(id)?.[1]
    if (round === undefined) return
    this.proposals.inc()
    // a round's proposals are told together, all named for its time
    if (round !== this.lastRound) this.rounds.inc()
    this.lastRound = round
  }
}
