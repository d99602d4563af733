/** What every executor returns for a finished job; the files themselves are in `resultsDir`. */
export interface ExecutionResult {
  jobId: string
  resultsDir: string
  exitCode: number
  /** killed because the job ran past its time limit */
  timedOut: boolean
  /** killed by the kernel for going over its memory limit */
  oomKilled: boolean
  stdoutTruncated: boolean
  stderrTruncated: boolean
  durationMs: number
  /** the run had already finished (e.g. before a restart): these are the results it left */
  recovered: boolean
}

export type ExecutionErrorCode =
  | 'DOCKER_UNAVAILABLE'
  | 'WASM_UNAVAILABLE'
  | 'IMAGE_NOT_PINNED'
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_PULL_FAILED'
  | 'IMAGE_TOO_LARGE'
  | 'RESOURCES_UNAVAILABLE'
  | 'EXECUTION_CANCELLED'
  | 'EXECUTION_FAILED'
  | 'BAD_JOB_SPEC'
  | 'WASM_INVALID_MODULE'
  | 'WASM_MODULE_NOT_FOUND'
  | 'GPU_UNAVAILABLE'
  | 'NETWORK_NOT_ALLOWED'
  | 'OUTPUTS_TOO_LARGE'

/** A job that could not be run (as opposed to one that ran and exited non-zero). */
export class ExecutionError extends Error {
  override readonly name = 'ExecutionError'
  constructor (readonly code: ExecutionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}
