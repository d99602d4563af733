import type { JobSpec, MachineSpec } from '../modules/model.ts'
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
/**
 * The Docker job a module's spec makes. Its memory limit is a function of the module alone, so that
 * the provider, a checking creator and a mediator run it alike (a run killed for memory on one
 * machine and not on another would slash an honest provider): the spec's `Memory`, else (none, or
 * zero) the RAM its `machine` declares, which the job offer was matched on, else the executor's
 * default. Never a size of the machine that runs it.
 */
export function dockerJobFromModule (job: JobSpec, target: { jobId: string, resultsDir: string, inputs?: DockerJob['inputs'], machine?: Pick<MachineSpec, 'ram'> }): DockerJob {
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
      memoryBytes: positive(job.resources.memoryBytes) ?? positive((target.machine?.ram ?? 0) * MiB),
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

const MiB = 1024 * 1024

function positive (n: number | null | undefined): number | undefined {
  return n !== undefined && n !== null && Number.isFinite(n) && n > 0 ? n : undefined
}
