import type { LoadedModule } from '../../executor/modules/load.ts'
import { jobTimeoutMs } from '../../executor/docker/from-module.ts'
import { LIMITS } from '../../protocols/messages/fields.ts'
import { JobError } from './job-errors.ts'

/**
 * What a provider needs beside the module's own timeout before its results are due: pulling the
 * image, fetching the module, and adding and committing the results.
 */
export const SUBMIT_MARGINS_MS = { pull: 300_000, fetch: 60_000, commit: 60_000 }
const MARGIN_MS = SUBMIT_MARGINS_MS.pull + SUBMIT_MARGINS_MS.fetch + SUBMIT_MARGINS_MS.commit

/** A re-run of the job (the creator's check or a mediator's) with the margins: fetching the module, pulling its image, running it. */
export function rerunWindowMs (module: LoadedModule): number {
  return jobTimeoutMs(module.spec.job) + MARGIN_MS
}

/**
 * The job's submit window: the one asked for, or the module's timeout and the margins. A window
 * shorter than the timeout would let an honest provider run out of time, so it is refused here
 * rather than left for every provider to decline.
 */
export function submitWindowMs (module: LoadedModule, asked?: number): number {
  const timeoutMs = jobTimeoutMs(module.spec.job)
  const window = asked ?? rerunWindowMs(module)
  if (window < timeoutMs) {
    throw new JobError('BAD_INPUT', `a submit window of ${seconds(window)} is shorter than the module's timeout (${seconds(timeoutMs)}): no provider could finish in time`)
  }
  if (window > LIMITS.maxWindowMs) {
    throw new JobError('BAD_INPUT', `the module's timeout (${seconds(timeoutMs)}) and margins need a submit window of ${seconds(window)}, longer than a deal allows (${seconds(LIMITS.maxWindowMs)})`)
  }
  return window
}

function seconds (ms: number): string {
  return `${Math.round(ms / 1000)} s`
}
