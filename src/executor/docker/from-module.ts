import type { JobSpec } from '../modules/model.ts'
import { ExecutionError } from '../results/execution.ts'
import type { DockerJob } from './job.ts'

/** Used when a module gives no `Timeout` (Lilypad's templates mostly say 1800 s). */
export const DEFAULT_JOB_TIMEOUT_MS = 30 * 60_000

/** How long a module's job may run, whichever its engine. */
export function jobTimeoutMs (job: JobSpec): number {
  return job.timeout > 0 ? job.timeout * 1000 : DEFAULT_JOB_TIMEOUT_MS
}

/**
 * The container job for a module's Bacalhau Docker spec. A `Network.Type` other than `None` asks
 * for a network, which the executor gives only where the node allows it (its `Domains` are not
 * filtered).
 */
export function dockerJobFromModule (job: JobSpec, target: { jobId: string, resultsDir: string, inputs?: DockerJob['inputs'] }): DockerJob {
  const engine = job.engine
  if (engine.type !== 'docker') throw new ExecutionError('BAD_JOB_SPEC', `job ${target.jobId} is not a Docker job (engine: ${engine.type === 'unknown' ? engine.name : engine.type})`)
  return {
    jobId: target.jobId,
    resultsDir: target.resultsDir,
    image: engine.image,
    entrypoint: engine.entrypoint.length > 0 ? engine.entrypoint : undefined,
    cmd: engine.parameters.length > 0 ? engine.parameters : undefined,
    env: engine.environmentVariables,
    workingDir: engine.workingDirectory || undefined,
    resources: {
      cpuMilli: job.resources.cpuMillis ?? undefined,
      memoryBytes: job.resources.memoryBytes ?? undefined,
      gpus: job.resources.gpu ?? undefined
    },
    outputsBytes: job.resources.diskBytes ?? undefined,
    network: wantsNetwork(job),
    timeoutMs: jobTimeoutMs(job),
    ...(target.inputs === undefined || target.inputs.length === 0 ? {} : { inputs: target.inputs })
  }
}

/** Bacalhau's `Network.Type` is `None` unless the spec says otherwise. */
export function wantsNetwork (job: JobSpec): boolean {
  return job.network.type.toLowerCase() !== 'none'
}
