import { join } from 'node:path'
import { loadModule } from '../../executor/modules/load.ts'
import { userModuleSchemes } from '../../executor/modules/sources.ts'
import { ModuleError } from '../../executor/modules/errors.ts'
import { TemplateError } from '../../executor/template/errors.ts'
import type { LilypadNode } from '../node.ts'
import { phaseRecorder } from '../jobs/phases.ts'
import { followOnNode, JobError, submitOnNode, type JobPhase, type JobResult } from '../jobs/job-on-node.ts'
import { BadRequest, type JobRequest } from './job-request.ts'
import { dealStatuses } from './deal-status.ts'
import type { DealState } from '../../state-machines/deal-states.ts'
import type { JobCreatorContext } from '../../state-machines/job-creator.machine.ts'

/** What a job-creator node's jobs trust and where it caches modules: from the node's settings. */
export interface JobBoardOptions {
  network: string
  solvers: string[]
  mediators: string[]
  mirrors?: Record<string, string>
  dataDir: string
}

export interface PhaseEvent {
  phase: JobPhase
  /** milliseconds since the node took the job; null for a phase rebuilt from the log after a restart */
  at: number | null
  detail: Record<string, unknown>
}

/** A job as `GET /jobs/<id>` shows it. `result` is there once the deal is final, `done` once nothing more will change. */
export interface JobView {
  id: string
  module: string
  /** when the node offered it, ms since 1970 */
  submittedAt: number
  phase: JobPhase | 'submitted'
  phases: PhaseEvent[]
  done: boolean
  /** the deal, once there is one */
  dealId: string | null
  /** the deal state the job creator's machine holds now */
  state: DealState
  result: JobResult | null
  error: { code: string, message: string } | null
  /** the job was cancelled before any deal was signed */
  cancelled: boolean
}

/** A line of `GET /jobs`. */
export type JobSummary = Pick<JobView, 'id' | 'module' | 'submittedAt' | 'phase' | 'done' | 'dealId' | 'state' | 'cancelled'> & { outcome: string | null }

/** How many jobs a node shows; the oldest finished ones are left out first (its log keeps them all). */
const KEEP = 10_000

type Listener = (event: PhaseEvent | 'done') => void

interface Job { view: JobView, listeners: Set<Listener>, stream: string }

/**
 * The jobs of a job-creator node: those submitted through its API, and on start every job its log
 * holds (the job-creator streams), so that they outlive a restart. A job still under way when the
 * node stopped is followed again. Each is offered through the node's role host and followed in the
 * background; its phases are kept for readers and listeners.
 */
export class JobBoard {
  private readonly jobs = new Map<string, Job>()

  private constructor (private readonly node: LilypadNode, private readonly options: JobBoardOptions) {}

  /** The board of a node, with the jobs its log holds. */
  static async open (node: LilypadNode, options: JobBoardOptions): Promise<JobBoard> {
    const board = new JobBoard(node, options)
    const streams = node.host.runtime.streams().filter(s => s.startsWith('job:'))
    for (const stream of streams) board.rebuild(stream)
    return board
  }

  /** Loads the module and offers the job; resolves once it is offered, with its view. */
  async submit (request: JobRequest): Promise<JobView> {
    const started = Date.now()
    const module = await loadModule({
      // the API answers on 127.0.0.1 only: the module is named by this node's own user
      ref: request.module, inputs: request.inputs, cacheDir: join(this.options.dataDir, 'modules'), mirrors: this.options.mirrors, allowedSchemes: userModuleSchemes()
    }).catch((err: Error) => {
      throw err instanceof ModuleError || err instanceof TemplateError ? new BadRequest(err.message.split('\n')[0]) : err
    })
    const stream = await submitOnNode(this.node, module, request.inputs, {
      network: this.options.network,
      solvers: this.options.solvers,
      mediators: this.options.mediators,
      checkRate: request.mediationChance / 100,
      maxPrice: request.maxPrice === undefined ? undefined : BigInt(request.maxPrice),
      matchWithinMs: request.matchWithinMs,
      agreeWithinMs: request.agreeWithinMs,
      inputsPath: request.inputsPath,
      submitWithinMs: request.submitWithinMs,
      quorum: request.quorum
    })
    const job = this.add(stream, request.module, started)
    this.follow(job, started, { module: `${module.repo}@${module.commit.slice(0, 12)}` })
    return job.view
  }

  get (id: string): JobView | undefined {
    const job = this.jobs.get(id)
    if (job !== undefined) this.refresh(job)
    return job?.view
  }

  /** Every job this node holds, newest first. */
  list (): JobSummary[] {
    return [...this.jobs.values()].map(job => {
      this.refresh(job)
      const v = job.view
      return { id: v.id, module: v.module, submittedAt: v.submittedAt, phase: v.phase, done: v.done, dealId: v.dealId, state: v.state, cancelled: v.cancelled, outcome: v.result?.outcome ?? (v.done ? v.state : null) }
    }).sort((a, b) => b.submittedAt - a.submittedAt)
  }

  /**
   * Calls a job off while no deal is signed: its machine stops taking proposals, and its offer
   * lapses at its match deadline. A job with a deal (signed, or being signed) goes on: `too-late`.
   */
  async cancel (id: string): Promise<'cancelled' | 'too-late' | 'unknown'> {
    const job = this.jobs.get(id)
    if (job === undefined) return 'unknown'
    const before = this.node.host.job(job.stream)
    if (before?.cancelled === true) return 'cancelled'
    await this.node.host.runtime.send(job.stream, { type: 'job.cancel' } as never)
    const after = this.node.host.job(job.stream)
    this.refresh(job)
    return after?.cancelled === true ? 'cancelled' : 'too-late'
  }

  /** Calls `listener` with each phase the job reaches from now on, then with 'done'. */
  subscribe (id: string, listener: Listener): () => void {
    const job = this.jobs.get(id)
    if (job === undefined || job.view.done) return () => {}
    job.listeners.add(listener)
    return () => { job.listeners.delete(listener) }
  }

  private add (stream: string, module: string, submittedAt: number): Job {
    const id = stream.slice('job:'.length)
    const job: Job = {
      stream,
      view: { id, module, submittedAt, phase: 'submitted', phases: [], done: false, dealId: null, state: 'JobOffered', result: null, error: null, cancelled: false },
      listeners: new Set<Listener>()
    }
    this.remember(id, job)
    return job
  }

  /** A job the log holds: its view as its machine's state tells it; one under way is followed again. */
  private rebuild (stream: string): void {
    const context = this.node.host.job(stream)
    if (context === undefined) return
    const job = this.add(stream, `${context.job.moduleRepo}@${context.job.moduleCommit.slice(0, 12)}`, Number(context.job.nonce) || 0)
    const reached: JobPhase[] = ['offered']
    if (context.dealId !== null) reached.push('matched')
    if (context.resultsCid !== null || context.phase === 'awaitingResults') reached.push('agreed')
    if (context.resultsCid !== null) reached.push('results')
    if (context.outcome === 'Accepted' || context.outcome === 'MediationAccepted') reached.push('verified')
    job.view.phases = reached.map(phase => ({ phase, at: null, detail: {} }))
    job.view.phase = reached[reached.length - 1]!
    this.refresh(job)
    if (context.phase === 'done') {
      job.view.done = true
      job.view.result = resultOf(context, this.node)
      if (context.outcome !== 'Accepted' && context.outcome !== 'MediationAccepted') {
        job.view.error = context.cancelled === true
          ? { code: 'CANCELLED', message: 'the job was cancelled before a deal was signed' }
          : { code: context.outcome === 'TimeoutMatch' ? 'NO_MATCH' : 'FAILED', message: `the deal ended ${String(context.outcome)}` }
      }
      return
    }
    this.follow(job, job.view.submittedAt, null)
  }

  private follow (job: Job, started: number, offered: Record<string, unknown> | null): void {
    const timings: JobResult['timings'] = {}
    for (const p of job.view.phases) timings[p.phase] = p.at ?? 0
    const phase = phaseRecorder(started, timings, (name, detail) => {
      const event = { phase: name, at: timings[name]!, detail }
      job.view.phase = name
      job.view.phases.push(event)
      this.refresh(job)
      for (const listener of job.listeners) listener(event)
    })
    if (offered !== null) phase('offered', offered)
    followOnNode(this.node, job.stream, phase, timings, (result) => { job.view.result = result }).then(
      (result) => { job.view.result = result },
      (err: Error) => {
        job.view.result = err instanceof JobError ? err.result ?? null : null
        const cancelled = this.node.host.job(job.stream)?.cancelled === true
        job.view.error = cancelled
          ? { code: 'CANCELLED', message: 'the job was cancelled before a deal was signed' }
          : { code: err instanceof JobError ? err.code : 'FAILED', message: err.message.split('\n')[0]! }
      }
    ).finally(() => {
      this.refresh(job)
      job.view.done = true
      for (const listener of job.listeners) listener('done')
      job.listeners.clear()
    })
  }

  /** The deal, its state and whether it was cancelled, as the job creator's machine holds them now. */
  private refresh (job: Job): void {
    const context = this.node.host.job(job.stream)
    if (context === undefined) return
    job.view.dealId = context.dealId
    job.view.cancelled = context.cancelled === true
    const [status] = dealStatuses([{ stream: job.stream, machine: 'job-creator', context }], Date.now())
    if (status !== undefined) job.view.state = status.state
  }

  private remember (id: string, job: Job): void {
    this.jobs.set(id, job)
    if (this.jobs.size <= KEEP) return
    for (const [old, { view }] of this.jobs) {
      if (view.done) { this.jobs.delete(old); return }
    }
  }
}

/** What a finished job's machine says of its result; its stdout is read when asked (`lilypad jobs get`). */
function resultOf (context: JobCreatorContext, node: LilypadNode): JobResult {
  return {
    outcome: context.outcome ?? 'unknown',
    dealId: context.dealId,
    resultsCid: context.resultsCid,
    resultsDir: context.dealId === null ? null : node.exchange.downloadDir(context.dealId),
    stdout: null,
    checked: context.checked,
    settled: false,
    provider: context.deal?.resourceProvider ?? null,
    timings: {}
  }
}
