/**
 * Runs a provider starts on a proposal, ahead of the deal: the container runs while the job creator
 * reads the provider's deposit and signs, and the run of the deal, moments later, takes it over.
 * A run no deal takes by its proposal's expiry is stopped and its folder removed, and its job
 * creator gets no run ahead of its deals for 10 minutes; a deal's run that finds none of its own
 * under way stops the others, so that real work never shares a slot with speculation. Nothing of a
 * run leaves the node before the deal is signed: results go only with the deal's ResultsSubmitted.
 */
import { rm } from 'node:fs/promises'
import type { ExecutionResult } from '../../executor/results/execution.ts'

/** What a warm run left: its results folder and how the run ended. */
export interface WarmRun {
  dir: string
  result: ExecutionResult
}

interface Entry {
  author: string
  dir: string
  controller: AbortController
  timer: NodeJS.Timeout
  run: Promise<ExecutionResult | undefined>
}

/** warm runs at once, beyond which a proposal's job waits for its deal as before */
const MAX_WARM_RUNS = 8
/** how long a job creator that left a warm run unsigned gets none (its jobs wait for their deals) */
const UNSIGNED_BAR_MS = 10 * 60_000
/** creators remembered as barred at once */
const MAX_BARRED = 1_024
/** after the proposal's expiry, the deal's run may still be on its way (the agree window's end) */
const GRACE_MS = 1_000

export class WarmRuns {
  private readonly runs = new Map<string, Entry>()
  /** job creators whose warm runs no deal took, until when they get none */
  private readonly barred = new Map<string, number>()

  constructor (private readonly now: () => number = Date.now) {}

  /**
   * Starts `run` of a job of `author` under `key`, its results going to `dir`, unless one is under
   * way, too many are, or the author left one unsigned lately; stops it at `until` unless taken.
   */
  start (key: string, author: string, until: number, dir: string, run: (signal: AbortSignal) => Promise<ExecutionResult>): void {
    const now = this.now()
    const wait = until - now
    if (wait <= 0 || this.runs.has(key) || this.runs.size >= MAX_WARM_RUNS || (this.barred.get(author.toLowerCase()) ?? 0) > now) return
    const controller = new AbortController()
    const started = run(controller.signal).catch(() => undefined)
    const timer = setTimeout(() => { this.unsigned(key) }, wait + GRACE_MS)
    timer.unref()
    this.runs.set(key, { author, dir, controller, timer, run: started })
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

  /**
   * Stops every run (the node stops, or a deal's job starts that none was running: real work comes
   * first); resolves once their containers and folders are gone.
   */
  async stop (): Promise<void> {
    await Promise.all([...this.runs.keys()].map(async key => { await this.drop(key) }))
  }

  /** A run no deal took: stopped, and its creator gets none for a while. */
  private unsigned (key: string): void {
    const entry = this.runs.get(key)
    if (entry === undefined) return
    void this.drop(key)
    this.barred.delete(entry.author.toLowerCase())
    this.barred.set(entry.author.toLowerCase(), this.now() + UNSIGNED_BAR_MS)
    if (this.barred.size > MAX_BARRED) this.barred.delete(this.barred.keys().next().value as string)
  }

  private async drop (key: string): Promise<void> {
    const entry = this.runs.get(key)
    if (entry === undefined) return
    this.runs.delete(key)
    clearTimeout(entry.timer)
    entry.controller.abort(new Error('no deal took the run started ahead of it'))
    await entry.run
    await removeDir(entry.dir)
  }
}

async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => undefined)
}
