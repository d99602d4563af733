import { stat, truncate } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import { ExecutionError, type ExecutionResult } from '../results/execution.ts'
import { prepareResultsDir, readExitCode, writeExitCode } from '../results/layout.ts'
import type { WasmJob } from './job.ts'

export interface WasmExecutorOptions {
  stdoutLimitBytes?: number
  stderrLimitBytes?: number
  /** heap of the worker thread that hosts the module */
  maxWorkerHeapMb?: number
}

const MiB = 1024 * 1024
const DEFAULTS = { stdoutLimitBytes: 10 * MiB, stderrLimitBytes: 10 * MiB, maxWorkerHeapMb: 256 }
/** the exit code given to a run that was killed, as a shell reports SIGKILL */
export const KILLED_EXIT_CODE = 137
interface WorkerReport { exitCode?: number, error?: string, invalid?: string }
const WORKER = new URL('./wasi-worker.mjs', import.meta.url)

/**
 * Runs WASI (preview1) modules in Node, no Docker needed: arguments and environment from the spec,
 * stdout and stderr to files, `/outputs` preopened, nothing else of the host visible, the clock
 * and randomness fixed, and a hard time limit (the worker thread is terminated).
 */
export class WasmExecutor {
  private readonly options: typeof DEFAULTS

  constructor (options: WasmExecutorOptions = {}) {
    this.options = { ...DEFAULTS, ...definedOnly(options) }
  }

  async run (job: WasmJob, signal?: AbortSignal): Promise<ExecutionResult> {
    validate(job)
    if (signal?.aborted) throw cancelled(job)
    const finishedCode = await readExitCode(job.resultsDir)
    if (finishedCode !== undefined) {
      return { jobId: job.jobId, resultsDir: job.resultsDir, exitCode: finishedCode, timedOut: false, oomKilled: false, stdoutTruncated: false, stderrTruncated: false, durationMs: 0, recovered: true }
    }
    const paths = await prepareResultsDir(job.resultsDir)
    const started = Date.now()
    const worker = new Worker(WORKER, {
      workerData: {
        wasm: job.wasm,
        args: [job.programName ?? 'main.wasm', ...(job.args ?? [])],
        env: job.env ?? {},
        outputsDir: paths.outputs,
        stdoutPath: paths.stdout,
        stderrPath: paths.stderr
      },
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxWorkerHeapMb },
      stdout: true,
      stderr: true
    })
    let timedOut = false
    let wasCancelled = false
    const outcome = await new Promise<WorkerReport>((resolve) => {
      const timer = setTimeout(() => { timedOut = true; void worker.terminate() }, job.timeoutMs)
      const onAbort = (): void => { wasCancelled = true; void worker.terminate() }
      signal?.addEventListener('abort', onAbort, { once: true })
      let message: WorkerReport = {}
      worker.on('message', (m: WorkerReport) => { message = m })
      worker.on('error', (err) => { message = { error: err.message } })
      worker.on('exit', () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        resolve(message)
      })
    })
    if (wasCancelled) throw cancelled(job)
    if (outcome.invalid !== undefined) throw new ExecutionError('WASM_INVALID_MODULE', `job ${job.jobId}: not a valid WebAssembly module: ${outcome.invalid}`)
    let exitCode: number
    if (timedOut) exitCode = KILLED_EXIT_CODE
    else if (outcome.error !== undefined) throw new ExecutionError('EXECUTION_FAILED', `job ${job.jobId}: the module could not run: ${outcome.error}`)
    else exitCode = outcome.exitCode ?? 0
    const stdoutTruncated = await capFile(paths.stdout, this.options.stdoutLimitBytes)
    const stderrTruncated = await capFile(paths.stderr, this.options.stderrLimitBytes)
    await writeExitCode(job.resultsDir, exitCode)
    return {
      jobId: job.jobId, resultsDir: job.resultsDir, exitCode, timedOut, oomKilled: false,
      stdoutTruncated, stderrTruncated, durationMs: Date.now() - started, recovered: false
    }
  }
}

/** WASI writes straight to the file descriptors, so the size cap is applied when the run ends. */
async function capFile (path: string, limit: number): Promise<boolean> {
  const size = (await stat(path)).size
  if (size <= limit) return false
  await truncate(path, limit)
  return true
}

function validate (job: WasmJob): void {
  if (typeof job.jobId !== 'string' || job.jobId.length === 0) throw new ExecutionError('BAD_JOB_SPEC', 'a job needs a non-empty jobId')
  if (!(job.wasm instanceof Uint8Array)) throw new ExecutionError('BAD_JOB_SPEC', `job ${job.jobId} has no WebAssembly bytes`)
  if (!(Number.isFinite(job.timeoutMs) && job.timeoutMs > 0)) throw new ExecutionError('BAD_JOB_SPEC', `job ${job.jobId} needs a positive timeoutMs`)
  if (job.entryPoint !== undefined && job.entryPoint !== '_start') {
    throw new ExecutionError('BAD_JOB_SPEC', `job ${job.jobId}: entry point ${JSON.stringify(job.entryPoint)} is not supported; WASI commands start at _start`)
  }
}

function cancelled (job: WasmJob): ExecutionError {
  return new ExecutionError('EXECUTION_CANCELLED', `job ${job.jobId} was cancelled`)
}

function definedOnly<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
