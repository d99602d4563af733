import type { JobOffer } from '../../../protocols/messages/schemas.ts'
import type { EffectHandler } from '../../runtime/actor-runtime.ts'

export interface JobRun {
  resultsCid: string
  exitCode: number
  durationMs: number
  cpuMs: number
}

/** Runs a job offer's module and keeps its results; idempotent by `runId`. */
export interface JobRunner {
  run (job: JobOffer, runId: string, signal: AbortSignal): Promise<JobRun>
}

/**
 * `job.run`: a provider executing a deal, a job creator checking results, a mediator re-running.
 * A run that cannot start (unknown module, spec hash mismatch, no engine) fails the effect; the
 * deal's deadlines then decide the outcome.
 */
export function jobEffects (runner: JobRunner): Record<string, EffectHandler> {
  return {
    'job.run': async (output, { signal }) => {
      const run = await runner.run(output.job as unknown as JobOffer, output.id, signal)
      return { type: 'job.finished', resultsCid: run.resultsCid, exitCode: run.exitCode, durationMs: run.durationMs, cpuMs: run.cpuMs }
    }
  }
}
