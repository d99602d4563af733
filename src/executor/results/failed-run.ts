import { writeFile } from 'node:fs/promises'
import { prepareResultsDir, writeExitCode } from './layout.ts'

/** docker's exit code for a container that could not be run */
export const FAILED_RUN_EXIT_CODE = 125

/**
 * Why a job could not run, in words every machine uses alike: a failed run's results name only
 * this code, so the provider, the job creator and a mediator hitting the same failure agree on
 * its CID.
 */
export const FAILURE_CODES = [
  /** the offer's inputs are not a JSON object */
  'ERR_BAD_INPUTS',
  /** the module's repository, commit, template or WASM entry module could not be had */
  'ERR_MODULE_UNAVAILABLE',
  /** the module was had, and its template, spec or engine is not runnable */
  'ERR_MODULE_INVALID',
  /** the rendered spec's hash is not the offer's `specHash` */
  'ERR_SPEC_MISMATCH',
  /** the image is named by a tag, not by a digest or an image id */
  'ERR_IMAGE_NOT_PINNED',
  /** the image is neither present nor pullable */
  'ERR_IMAGE_UNAVAILABLE',
  /** no Docker engine or WASM executor to run the module's engine */
  'ERR_ENGINE_UNAVAILABLE',
  /** the module's timeout is longer than the deal leaves for the run */
  'ERR_TIMEOUT_TOO_LONG',
  /** the module's timeout is longer than a mediator would have to re-run it */
  'ERR_MEDIATION_TOO_SHORT',
  /** the outputs hold something the results layer refuses (a link, a FIFO, a device) */
  'ERR_OUTPUTS_REFUSED',
  /** the job's input data could not be had here, or is larger than this node takes */
  'ERR_INPUTS_UNAVAILABLE',
  /** the job's inputs name a path it cannot have (relative, /, or under /outputs), or are named by URL */
  'ERR_INPUTS_INVALID',
  /** the job runs with more memory than this node's slot gives */
  'ERR_RESOURCES_UNAVAILABLE',
  /** the module asks for GPUs and this node has none to give a job */
  'ERR_GPU_UNAVAILABLE',
  /** the module asks for a network and this node runs jobs without one */
  'ERR_NETWORK_NOT_ALLOWED',
  /** the module's outputs are larger than its disk quota (its spec's `Disk`, or the default) */
  'ERR_OUTPUTS_TOO_LARGE',
  /** the engine could not create, start or host the run */
  'ERR_EXECUTION_FAILED',
  /** any other reason */
  'ERR_RUN_FAILED'
] as const

export type FailureCode = typeof FAILURE_CODES[number]

/** A job that cannot run, with the failure code its failed-run results will name. */
export class RunFailure extends Error {
  override readonly name = 'RunFailure'
  constructor (readonly code: FailureCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** The `code`s the module loader, the template renderer, the executors and the results layer throw. */
const BY_ERROR_CODE: Record<string, FailureCode> = {
  MODULE_REPO_NOT_FOUND: 'ERR_MODULE_UNAVAILABLE',
  MODULE_REF_NOT_FOUND: 'ERR_MODULE_UNAVAILABLE',
  MODULE_GIT_FAILED: 'ERR_MODULE_UNAVAILABLE',
  MODULE_MIRRORS_INVALID: 'ERR_MODULE_UNAVAILABLE',
  MODULE_SOURCE_REFUSED: 'ERR_MODULE_UNAVAILABLE',
  MODULE_REPO_TOO_LARGE: 'ERR_MODULE_UNAVAILABLE',
  WASM_MODULE_NOT_FOUND: 'ERR_MODULE_UNAVAILABLE',
  MODULE_REF_INVALID: 'ERR_MODULE_INVALID',
  MODULE_TEMPLATE_NOT_FOUND: 'ERR_MODULE_INVALID',
  MODULE_SPEC_INVALID: 'ERR_MODULE_INVALID',
  TEMPLATE_PARSE: 'ERR_MODULE_INVALID',
  TEMPLATE_EXEC: 'ERR_MODULE_INVALID',
  MODULE_JSON_INVALID: 'ERR_MODULE_INVALID',
  TEMPLATE_BUDGET_EXCEEDED: 'ERR_MODULE_INVALID',
  BAD_JOB_SPEC: 'ERR_MODULE_INVALID',
  WASM_INVALID_MODULE: 'ERR_MODULE_INVALID',
  RESULTS_BAD_CID: 'ERR_MODULE_INVALID',
  ERR_SPEC_MISMATCH: 'ERR_SPEC_MISMATCH',
  IMAGE_NOT_PINNED: 'ERR_IMAGE_NOT_PINNED',
  IMAGE_NOT_FOUND: 'ERR_IMAGE_UNAVAILABLE',
  IMAGE_PULL_FAILED: 'ERR_IMAGE_UNAVAILABLE',
  IMAGE_TOO_LARGE: 'ERR_IMAGE_UNAVAILABLE',
  DOCKER_UNAVAILABLE: 'ERR_ENGINE_UNAVAILABLE',
  WASM_UNAVAILABLE: 'ERR_ENGINE_UNAVAILABLE',
  RESULTS_UNSUPPORTED_ENTRY: 'ERR_OUTPUTS_REFUSED',
  EXECUTION_FAILED: 'ERR_EXECUTION_FAILED',
  GPU_UNAVAILABLE: 'ERR_GPU_UNAVAILABLE',
  RESOURCES_UNAVAILABLE: 'ERR_RESOURCES_UNAVAILABLE',
  NETWORK_NOT_ALLOWED: 'ERR_NETWORK_NOT_ALLOWED',
  OUTPUTS_TOO_LARGE: 'ERR_OUTPUTS_TOO_LARGE',
  RESULTS_FETCH_FAILED: 'ERR_INPUTS_UNAVAILABLE',
  RESULTS_FETCH_TIMEOUT: 'ERR_INPUTS_UNAVAILABLE',
  RESULTS_TOO_LARGE: 'ERR_INPUTS_UNAVAILABLE'
}

const KNOWN = new Set<string>(FAILURE_CODES)

/** The failure code of an error thrown while loading, checking or running a job. */
export function failureCode (err: unknown): FailureCode {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    if (KNOWN.has(code)) return code as FailureCode
    const mapped = BY_ERROR_CODE[code]
    if (mapped !== undefined) return mapped
  }
  // git's own failures carry its exit status, not a code
  if ((err as Error | null)?.name === 'GitFailure') return 'ERR_MODULE_UNAVAILABLE'
  return 'ERR_RUN_FAILED'
}

/** The failed run's whole stderr: one line, the code and nothing of the machine that wrote it. */
export function failedRunStderr (code: FailureCode): string {
  return `lilypad: job could not run: ${code}\n`
}

/**
 * Writes the canonical results of a run that could not happen into `dir` (emptied first), in
 * Bacalhau's layout: empty `stdout`, `stderr` naming the failure code, `exitCode` 125 and an
 * empty `outputs/`. Returns `dir`.
 */
export async function writeFailedRun (dir: string, code: FailureCode): Promise<string> {
  const paths = await prepareResultsDir(dir)
  await writeFile(paths.stdout, '')
  await writeFile(paths.stderr, failedRunStderr(code))
  await writeExitCode(dir, FAILED_RUN_EXIT_CODE)
  return dir
}
