/** One container job, in the executor's terms (the module model maps Bacalhau specs onto it). */
export interface DockerJob {
  /** stable id (the deal id): names the container, so a second call after a crash finds it */
  jobId: string
  /** `sha256:<image id>` or `name@sha256:<digest>` */
  image: string
  entrypoint?: string[]
  /** Bacalhau's `Parameters`: arguments after the entrypoint */
  cmd?: string[]
  /** `K=V` strings (Bacalhau's `EnvironmentVariables`) or a map */
  env?: string[] | Record<string, string>
  workingDir?: string
  resources?: DockerResources
  /** most bytes the job may leave in `/outputs` (default: DEFAULT_OUTPUTS_BYTES) */
  outputsBytes?: number
  /** the job asks for a network (Bacalhau's `Network.Type` other than `None`) */
  network?: boolean
  timeoutMs: number
  /** the folder that receives stdout, stderr, exitCode and outputs/ */
  resultsDir: string
  /** input data, each a host file or folder mounted read-only at an absolute path */
  inputs?: DockerInput[]
}

export interface DockerInput {
  source: string
  target: string
}

export interface DockerResources {
  /** thousandths of a CPU */
  cpuMilli?: number
  memoryBytes?: number
  /** most processes and threads the container may have at once */
  pids?: number
  /** NVIDIA GPUs the container is given */
  gpus?: number
}

export function envList (env: DockerJob['env']): string[] {
  if (env === undefined) return []
  if (Array.isArray(env)) return env
  return Object.entries(env).map(([k, v]) => `${k}=${v}`)
}
