import { writeFile } from 'node:fs/promises'
import { Worker } from 'node:worker_threads'
import { ExecutionError, type ExecutionResult } from '../results/execution.ts'
import { prepareResultsDir, readExitCode, writeExitCode } from '../results/layout.ts'
import type { WasmJob } from './job.ts'
import { capMemory, WASM_PAGE_BYTES } from './memory-cap.ts'

/**
 * The caps decide where a run stops, and so its results: every machine that may run or check a
 * job must use the same ones, so change them for a whole network, not for one node.
 */
export interface WasmExecutorOptions {
  stdoutLimitBytes?: number
  stderrLimitBytes?: number
  /** all files written under /outputs together */
  outputsLimitBytes?: number
  /** the module's linear memory, whatever it declares (rounded down to whole pages) */
  maxMemoryBytes?: number
  /** heap of the worker thread that hosts the module */
  maxWorkerHeapMb?: number
}

const MiB = 1024 * 1024
const DEFAULTS = { stdoutLimitBytes: 10 * MiB, stderrLimitBytes: 10 * MiB, outputsLimitBytes: 1024 * MiB, maxMemoryBytes: 512 * MiB, maxWorkerHeapMb: 256 }
/** the exit code given to a run that was killed, as a shell reports SIGKILL */
export const KILLED_EXIT_CODE = 137
/**
 * A trap with the memory within this much of its cap is put down to the cap: a program whose
 * `memory.grow` failed traps (Rust's allocator aborts, C dereferences the null malloc gave it)
 * with the memory where the last successful grow left it.
 */
const MEMORY_SLACK_BYTES = 16 * MiB
interface WorkerReport {
  exitCode?: number
  error?: string
  invalid?: string
  atMemoryCap?: boolean
  stdoutTruncated?: boolean
  stderrTruncated?: boolean
}
const WORKER = new URL('./wasi-worker.mjs', import.meta.url)

/**
 * Runs WASI (preview1) modules in Node, no Docker needed: arguments and environment from the spec,
 * stdout and stderr to files, `/outputs` preopened, nothing else of the host visible, the clock
 * and randomness fixed, and a hard time limit (the worker thread is terminated). The module's
 * memory and what it writes are capped while it runs; a run stopped by its memory cap ends as
 * Docker's out-of-memory kill does: exit code 137, `oomKilled`.
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
    // a job naming no memory, or zero (which Docker reads as no limit), gets the executor's cap
    const asked = job.maxMemoryBytes !== undefined && job.maxMemoryBytes > 0 ? job.maxMemoryBytes : Infinity
    const maxPages = Math.floor(Math.min(this.options.maxMemoryBytes, asked) / WASM_PAGE_BYTES)
    let capped: ReturnType<typeof capMemory>
    try {
      capped = capMemory(job.wasm, maxPages)
    } catch (err) {
      throw new ExecutionError('WASM_INVALID_MODULE', `job ${job.jobId}: ${(err as Error).message}`)
    }
    const { wasm, overCap } = capped
    const paths = await prepareResultsDir(job.resultsDir)
    const started = Date.now()
    if (overCap) {
      // its memory's minimum alone is over the cap: it could not start within it on any machine
      await writeFile(paths.stdout, '')
      await writeFile(paths.stderr, '')
      return await this.finish(job, started, KILLED_EXIT_CODE, { oomKilled: true })
    }
    const worker = new Worker(WORKER, {
      workerData: {
        wasm,
        args: [job.programName ?? 'main.wasm', ...(job.args ?? [])],
        env: job.env ?? {},
        outputsDir: paths.outputs,
        stdoutPath: paths.stdout,
        stderrPath: paths.stderr,
        limits: {
          stdout: this.options.stdoutLimitBytes,
          stderr: this.options.stderrLimitBytes,
          outputs: this.options.outputsLimitBytes,
          memory: maxPages * WASM_PAGE_BYTES,
          memorySlack: MEMORY_SLACK_BYTES
        }
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
    const truncated = { stdoutTruncated: outcome.stdoutTruncated === true, stderrTruncated: outcome.stderrTruncated === true }
    if (timedOut) return await this.finish(job, started, KILLED_EXIT_CODE, { timedOut: true, ...truncated })
    if (outcome.error !== undefined && outcome.atMemoryCap === true) return await this.finish(job, started, KILLED_EXIT_CODE, { oomKilled: true, ...truncated })
    if (outcome.error !== undefined) throw new ExecutionError('EXECUTION_FAILED', `job ${job.jobId}: the module could not run: ${outcome.error}`)
    return await this.finish(job, started, outcome.exitCode ?? 0, truncated)
  }

  private async finish (job: WasmJob, started: number, exitCode: number, flags: Partial<Pick<ExecutionResult, 'timedOut' | 'oomKilled' | 'stdoutTruncated' | 'stderrTruncated'>>): Promise<ExecutionResult> {
    await writeExitCode(job.resultsDir, exitCode)
    return {
      jobId: job.jobId, resultsDir: job.resultsDir, exitCode, timedOut: false, oomKilled: false,
      stdoutTruncated: false, stderrTruncated: false, ...flags, durationMs: Date.now() - started, recovered: false
    }
  }
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
