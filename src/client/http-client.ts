import { phaseRecorder } from '../node/jobs/phases.ts'
import { JobError, type JobErrorCode } from '../node/jobs/job-errors.ts'
import type { JobResult, PhaseListener } from '../node/jobs/job-on-node.ts'
import type { JobRequest } from '../node/server/job-request.ts'
import type { JobView, PhaseEvent } from '../node/server/job-board.ts'

const CODES = new Set<string>(['BAD_INPUT', 'NO_DEPOSIT', 'NO_PEERS', 'NO_MATCH', 'FAILED'])

function jobError (code: string | undefined, message: string, result?: JobResult): JobError {
  return new JobError(code !== undefined && CODES.has(code) ? code as JobErrorCode : 'FAILED', message, result)
}

/**
 * `lilypad run --node <api>`: submits the job to a running job-creator node's API, follows its
 * phases live (server-sent events) and returns its result once the node is done with it. Timings
 * are the client's, from the moment it submitted.
 */
export async function runJobOnNode (api: string, request: JobRequest, onPhase?: PhaseListener): Promise<JobResult> {
  const base = api.replace(/\/+$/, '')
  const timings: JobResult['timings'] = {}
  const phase = phaseRecorder(Date.now(), timings, onPhase)
  const submitted = await call(base, '/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) })
  const view = await submitted.json().catch(() => ({})) as Partial<JobView> & { error?: string, code?: string }
  if (!submitted.ok || typeof view.id !== 'string') throw jobError(view.code, view.error ?? `the node answered ${submitted.status}`)
  for (const event of view.phases ?? []) phase(event.phase, event.detail)
  const events = await call(base, `/jobs/${view.id}/events`)
  if (!events.ok || events.body === null) throw jobError('FAILED', `the node answered ${events.status} for the phases of job ${view.id}`)
  let done: JobView | undefined
  let buffer = ''
  const decoder = new TextDecoder()
  for await (const chunk of events.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true })
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (data === undefined) continue
      if (event === 'phase') {
        const { phase: name, detail } = JSON.parse(data) as PhaseEvent
        phase(name, detail)
      } else if (event === 'done') {
        done = JSON.parse(data) as JobView
      }
    }
  }
  if (done === undefined) throw jobError('FAILED', `the node stopped sending the phases of job ${view.id} before it finished`)
  const result = done.result === null ? undefined : { ...done.result, timings }
  if (done.error !== null) throw jobError(done.error.code, done.error.message, result)
  if (result === undefined) throw jobError('FAILED', `the node finished job ${view.id} without a result`)
  return result
}

async function call (base: string, path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(base + path, init)
  } catch {
    throw new JobError('NO_PEERS', `no job-creator node answers at ${base}: is it running?`)
  }
}
