import { join } from 'node:path'
import { loadModule } from '../../executor/modules/load.ts'
import { userModuleSchemes } from '../../executor/modules/sources.ts'
import { ModuleError } from '../../executor/modules/errors.ts'
import { TemplateError } from '../../executor/template/errors.ts'
import type { LilypadNode } from '../node.ts'
import { phaseRecorder } from '../jobs/phases.ts'
import { followOnNode, JobError, submitOnNode, type JobPhase, type JobResult } from '../jobs/job-on-node.ts'
import { BadRequest, type JobRequest } from './job-request.ts'

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
  /** milliseconds since the node took the job */
  at: number
  detail: Record<string, unknown>
}

/** A job as `GET /jobs/<id>` shows it. `result` is there once the deal is final, `done` once nothing more will change. */
export interface JobView {
  id: string
  module: string
  phase: JobPhase | 'submitted'
  phases: PhaseEvent[]
  done: boolean
  result: JobResult | null
  error: { code: string, message: string } | null
}

type Listener = (event: PhaseEvent | 'done') => void

/** How many jobs a node remembers; the oldest finished ones are forgotten first. */
const KEEP = 1000

/**
 * The jobs submitted to a running job-creator node through its API: each is offered through the
 * node's role host and followed in the background; its phases are kept for readers and listeners.
 */
export class JobBoard {
  private readonly jobs = new Map<string, { view: JobView, listeners: Set<Listener> }>()

  constructor (private readonly node: LilypadNode, private readonly options: JobBoardOptions) {}

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
    const id = stream.slice('job:'.length)
    const job = { view: { id, module: request.module, phase: 'submitted', phases: [], done: false, result: null, error: null } as JobView, listeners: new Set<Listener>() }
    this.remember(id, job)
    const timings: JobResult['timings'] = {}
    const phase = phaseRecorder(started, timings, (name, detail) => {
      const event = { phase: name, at: timings[name]!, detail }
      job.view.phase = name
      job.view.phases.push(event)
      for (const listener of job.listeners) listener(event)
    })
    phase('offered', { module: `${module.repo}@${module.commit.slice(0, 12)}` })
    followOnNode(this.node, stream, phase, timings, (result) => { job.view.result = result }).then(
      (result) => { job.view.result = result },
      (err: Error) => {
        job.view.result = err instanceof JobError ? err.result ?? null : null
        job.view.error = { code: err instanceof JobError ? err.code : 'FAILED', message: err.message.split('\n')[0]! }
      }
    ).finally(() => {
      job.view.done = true
      for (const listener of job.listeners) listener('done')
      job.listeners.clear()
    })
    return job.view
  }

  get (id: string): JobView | undefined {
    return this.jobs.get(id)?.view
  }

  /** Calls `listener` with each phase the job reaches from now on, then with 'done'. */
  subscribe (id: string, listener: Listener): () => void {
    const job = this.jobs.get(id)
    if (job === undefined || job.view.done) return () => {}
    job.listeners.add(listener)
    return () => { job.listeners.delete(listener) }
  }

  private remember (id: string, job: { view: JobView, listeners: Set<Listener> }): void {
    this.jobs.set(id, job)
    if (this.jobs.size <= KEEP) return
    for (const [old, { view }] of this.jobs) {
      if (view.done) { this.jobs.delete(old); return }
    }
  }
}
