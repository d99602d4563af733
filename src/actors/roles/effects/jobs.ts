import type { JobOffer } from '../../../protocols/messages/schemas.ts'
import { failureCode } from '../../../executor/results/failed-run.ts'
import type { EffectHandlers } from '../../runtime/actor-runtime.ts'

export interface JobRun {
  resultsCid: string
  exitCode: number
  durationMs: number
  cpuMs: number
  /** set when the job could not run: its failure code (see FAILURE_CODES), which its results name */
  failure?: string
}

/** Runs a job offer's module and keeps its results; idempotent by `runId`. */
export interface JobRunner {
  /**
   * Resolves with a failed run, not a rejection, when the job cannot run; rejects when `signal`
   * aborts it. `purpose` is the output's: `execute` (a provider's deal), `verify` or `mediate`.
   */
  run (job: JobOffer, runId: string, signal: AbortSignal, purpose?: string): Promise<JobRun>
  /** Keeps the failed-run results of a run that threw `err`, as `run` would have. */
  failed (runId: string, err: unknown): Promise<JobRun>
  /**
   * Checks, before a provider signs, that the job can run here within `limits`: the module loads,
   * its spec hash is the offer's, its engine is here, its image is pinned and present or pullable,
   * its timeout fits, and the GPUs, network and disk quota it asks for are ones this node gives. Rejects with an error naming what is wrong and carrying a failure `code`.
   */
  prepare (job: JobOffer, limits: { maxDurationMs: number }, signal: AbortSignal): Promise<void>
  /**
   * Starts running `job` ahead of its deal, where this runner can, as the run `warmId` (the output's
   * id, which names no other node's run): a later `run` of the same offer takes that run; one no
   * `run` takes by `until` (ms since 1970) is stopped and forgotten.
   */
  warm? (job: JobOffer, warmId: string, until: number): void
}

/**
 * `job.run`: a provider executing a deal, a job creator checking results, a mediator re-running.
 * Once a deal is signed a run that cannot happen (unknown module, spec hash mismatch, no engine) is
 * still a result: the canonical failed-run folder, the same on every machine, so it is submitted
 * and a mediator can reproduce it. A stop of the runtime still fails the effect (it is resumed on
 * the next start).
 *
 * `job.prepare` {job, maxDurationMs}: a provider's check before it signs, answered with
 * `job.prepared` {ok: true} or {ok: false, failure, reason}. Any failure but a stop is a refusal:
 * not signing is always safe.
 */
export function jobEffects (runner: JobRunner): EffectHandlers<'job.prepare' | 'job.run' | 'job.warm'> {
  return {
    // started, not awaited: the run goes on in the runner, and nothing answers
    'job.warm': async (output) => {
      if (typeof output.until === 'number') runner.warm?.(output.job as unknown as JobOffer, output.id, output.until)
    },
    'job.run': async (output, { signal }) => {
      let run: JobRun
      try {
        run = await runner.run(output.job as unknown as JobOffer, output.id, signal, typeof output.purpose === 'string' ? output.purpose : undefined)
      } catch (err) {
        if (signal.aborted) throw err
        run = await runner.failed(output.id, err)
      }
      const finished = { type: 'job.finished', resultsCid: run.resultsCid, exitCode: run.exitCode, durationMs: run.durationMs, cpuMs: run.cpuMs }
      return run.failure === undefined ? finished : { ...finished, failure: run.failure }
    },
    'job.prepare': async (output, { signal }) => {
      const maxDurationMs = output.maxDurationMs
      if (typeof maxDurationMs !== 'number' || Number.isNaN(maxDurationMs)) throw new Error(`job.prepare ${output.id} needs a maxDurationMs, not ${JSON.stringify(maxDurationMs)}`)
      try {
        await runner.prepare(output.job as unknown as JobOffer, { maxDurationMs }, signal)
        return { type: 'job.prepared', ok: true }
      } catch (err) {
        if (signal.aborted) throw err
        return { type: 'job.prepared', ok: false, failure: failureCode(err), reason: err instanceof Error ? err.message : String(err) }
      }
    }
  }
}
