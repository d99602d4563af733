import { phaseRecorder } from '../node/jobs/phases.ts'
import { JobError, type JobErrorCode } from '../node/jobs/job-errors.ts'
import type { JobResult, PhaseListener } from '../node/jobs/job-on-node.ts'
import type { JobRequest } from '../node/server/job-request.ts'
import type { JobView, PhaseEvent } from '../node/server/job-board.ts'
import type { IncomingMessage } from 'node:http'
import { NodeApi, NodeApiError, ok, text, type ApiRequest } from './node-api.ts'

const CODES = new Set<string>(['BAD_INPUT', 'NO_DEPOSIT', 'NO_PEERS', 'NO_MATCH', 'FAILED'])
const DEFAULT_MAX_RESULTS_BYTES = 1024 * 1024 * 1024

function jobError (code: string | undefined, message: string, result?: JobResult): JobError {
  return new JobError(code !== undefined && CODES.has(code) ? code as JobErrorCode : 'FAILED', message, result)
}

/** A job as `POST /jobs` takes it; `inputs` default to none and `mediationChance` to the node's default. */
export type JobSubmission = Omit<JobRequest, 'inputs' | 'mediationChance'> & Partial<Pick<JobRequest, 'inputs' | 'mediationChance'>>

export interface FollowOptions {
  /** hears each phase the job reaches */
  onPhase?: PhaseListener
  /** 'verified' (default): return once the results are verified; 'settled': once the deal is settled on chain too */
  until?: 'verified' | 'settled'
  /** when the job was submitted, for its timings (default: now) */
  startedAt?: number
}

export interface LilypadClientOptions {
  /** the job-creator node's API, e.g. http://127.0.0.1:8080 */
  url: string
  /** the bearer token of a node listening beyond loopback (its `<data-dir>/api-token`) */
  token?: string
}

/**
 * A job-creator node's API, for programs: submit a job, follow it to its end, fetch its results
 * (checked block by block against their CID), list and cancel jobs. Jobs that fail end in a
 * `JobError` whose `code` says why (`BAD_INPUT`, `NO_DEPOSIT`, `NO_PEERS`, `NO_MATCH`, `FAILED`);
 * a request the node refuses otherwise throws a `NodeApiError` with its HTTP status.
 *
 *     const client = new LilypadClient({ url: 'http://127.0.0.1:8080' })
 *     const result = await client.run({ module: 'cowsay:v0.0.1', inputs: { Message: 'hi' } })
 *     await client.fetchResults(result.resultsCid!, './out')
 */
export class LilypadClient extends NodeApi {
  constructor (options: LilypadClientOptions | string) {
    const { url, token } = typeof options === 'string' ? { url: options, token: undefined } : options
    super(url, token)
  }

  /** Hands a job to the node; it is matched and run while the returned view's phases grow. */
  async submit (request: JobSubmission): Promise<JobView> {
    const response = await this.reach('/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) })
    const view = await text(response).then(t => JSON.parse(t) as Partial<JobView> & { error?: string, code?: string }).catch(() => ({} as { error?: string, code?: string, id?: undefined }))
    if (!ok(response) || typeof view.id !== 'string') throw jobError(view.code, view.error ?? `the node answered ${response.statusCode}`)
    return view as JobView
  }

  /**
   * Follows a job's phases live (server-sent events) and returns its result; `onPhase` hears each
   * phase, those already passed included. By default it returns once the results are fetched and
   * verified, while the node settles the deal on chain on its own (`settled` is then false);
   * `until: 'settled'` waits for the settlement too. Timings are counted from `startedAt`.
   */
  async follow (id: string, options: FollowOptions = {}): Promise<JobResult> {
    const timings: JobResult['timings'] = {}
    const phase = phaseRecorder(options.startedAt ?? Date.now(), timings, options.onPhase)
    // the stream follows the job for as long as it runs: no timeout of its own
    const events = await this.reach(`/jobs/${encodeURIComponent(id)}/events`, { timeoutMs: null })
    if (!ok(events)) { events.resume(); throw jobError('FAILED', `the node answered ${events.statusCode} for the phases of job ${id}`) }
    let done: JobView | undefined
    let latest: JobView | undefined
    for await (const [event, data] of serverSentEvents(events)) {
      if (event === 'phase') {
        const { phase: name, detail } = JSON.parse(data) as PhaseEvent
        phase(name, detail)
        // the node holds the result before it reports the results verified, and sends it just before
        if (name === 'verified' && options.until !== 'settled') {
          events.destroy()
          done = latest?.result != null ? latest : await this.job(id)
          break
        }
      } else if (event === 'view') {
        latest = JSON.parse(data) as JobView
      } else if (event === 'done') {
        done = JSON.parse(data) as JobView
      }
    }
    if (done === undefined) throw jobError('FAILED', `the node stopped sending the phases of job ${id} before it finished`)
    const result = done.result === null ? undefined : { ...done.result, timings }
    if (done.error !== null) throw jobError(done.error.code, done.error.message, result)
    if (result === undefined) throw jobError('FAILED', `the node finished job ${id} without a result`)
    return result
  }

  /** Submits a job and follows it (see `follow`). */
  async run (request: JobSubmission, options: Omit<FollowOptions, 'startedAt'> = {}): Promise<JobResult> {
    const startedAt = Date.now()
    const view = await this.submit(request)
    return await this.follow(view.id, { ...options, startedAt })
  }

  /**
   * Fetches a results folder the node holds into `dir` (stdout, stderr, outputs/), checking every
   * block against the CID; refuses results larger than `maxBytes` (default 1 GiB). Returns `dir`.
   */
  async fetchResults (cid: string, dir: string, options: { maxBytes?: number, signal?: AbortSignal } = {}): Promise<string> {
    const [{ parseCid }, { fetchResultsOverHttp }] = await Promise.all([import('../executor/results/cid.ts'), import('../executor/results/http-fetch.ts')])
    await fetchResultsOverHttp(this.base, parseCid(cid), dir, { maxBytes: options.maxBytes ?? DEFAULT_MAX_RESULTS_BYTES, headers: this.headers(), signal: options.signal })
    return dir
  }

  /** A node that does not answer is a job that cannot run: NO_PEERS, as `lilypad run` reports it. */
  private async reach (path: string, init: ApiRequest): Promise<IncomingMessage> {
    try {
      return await this.request(path, init)
    } catch (err) {
      if (err instanceof NodeApiError && err.status === 0) throw new JobError('NO_PEERS', `no job-creator node answers at ${this.base}: is it running?`)
      throw err
    }
  }
}

/** The (event, data) pairs of a server-sent event stream, as they arrive. */
async function * serverSentEvents (body: AsyncIterable<Uint8Array>): AsyncGenerator<[string | undefined, string]> {
  let buffer = ''
  const decoder = new TextDecoder()
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true })
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (data !== undefined) yield [/^event: (.*)$/m.exec(block)?.[1], data]
    }
  }
}
