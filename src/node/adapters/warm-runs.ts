/**
 * Runs a provider starts on a proposal, ahead of the deal: the container runs while the job creator
 * reads the provider's deposit and signs, and the run of the deal, moments later, takes it over.
 * A run no deal takes by its proposal's expiry is stopped and its folder removed. Each costs the
 * provider only the work of a slot that waits for that deal anyway; nothing of it leaves the node
 * before the deal is signed, since results are sent only with the deal's ResultsSubmitted.
 */
import { rm } from 'node:fs/promises'
import type { ExecutionResult } from '../../executor/results/execution.ts'

/** What a warm run left: its results folder and how the run ended. */
export interface WarmRun {
  dir: string
  result: ExecutionResult
}

interface Entry {
  dir: string
  controller: AbortController
  timer: NodeJS.Timeout
  run: Promise<ExecutionResult | undefined>
}

/** warm runs at once, beyond which a proposal's job waits for its deal as before */
const MAX_WARM_RUNS = 8
/** after the proposal's expiry, the deal's run may still be on its way (the agree window's end) */
const GRACE_MS = 1_000

export class WarmRuns {
  private readonly runs = new Map<string, Entry>()

  constructor (private readonly now: () => number = Date.now) {}

  /**
   * Starts `run` under `key`, its results going to `dir`, unless one is under way or too many are;
   * stops it at `until` unless taken.
   */
  start (key: string, until: number, dir: string, run: (signal: AbortSignal) => Promise<ExecutionResult>): void {
    const wait = until - this.now()
    if (wait <= 0 || this.runs.has(key) || this.runs.size >= MAX_WARM_RUNS) return
    const controller = new AbortController()
    const started = run(controller.signal).catch(() => undefined)
    const timer = setTimeout(() => { this.drop(key) }, wait + GRACE_MS)
    timer.unref()
    this.runs.set(key, { dir, controller, timer, run: started })
  }

  /**
   * The run under `key`, once it ended, taken out of this set: undefined when there is none or it
   * failed (the caller runs the job itself). Stops it if `signal` aborts first.
   */
  async take (key: string, signal: AbortSignal): Promise<WarmRun | undefined> {
    const entry = this.runs.get(key)
    if (entry === undefined) return undefined
    this.runs.delete(key)
    clearTimeout(entry.timer)
    const stop = (): void => { entry.controller.abort(signal.reason) }
    signal.addEventListener('abort', stop, { once: true })
    try {
      const result = await entry.run
      if (result === undefined || signal.aborted) {
        await removeDir(entry.dir)
        return undefined
      }
      return { dir: entry.dir, result }
    } finally {
      signal.removeEventListener('abort', stop)
    }
  }

  /** Stops every run (the node stops). */
  stop (): void {
    for (const key of [...this.runs.keys()]) this.drop(key)
  }

  private drop (key: string): void {
    const entry = this.runs.get(key)
    if (entry === undefined) return
    this.runs.delete(key)
    clearTimeout(entry.timer)
    entry.controller.abort(new Error('no deal took the run started ahead of it'))
    void entry.run.then(async () => { await removeDir(entry.dir) })
  }
}

async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => undefined)
}
