/**
 * Runs a provider starts on a proposal, ahead of the deal: the container runs while the job creator
 * reads the provider's deposit and signs, and the run of the deal, moments later, takes it over.
 * A run no deal takes by its proposal's expiry is stopped and its folder removed. A job creator gets
 * runs ahead only while those it left unsigned are no more than its deals run here, plus one, in
 * the last 10 minutes: an honest creator whose proposal went to two providers (two solvers) loses
 * little, and one that never signs costs a provider one run for nothing per 10 minutes and key, and
 * one more per deal it pays for. A deal's run that finds none of its own under way stops the
 * others, so that real work never shares a slot with speculation. Nothing of a run leaves the node
 * before the deal is signed: results go only with the deal's ResultsSubmitted.
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
/** the window over which a job creator's unsigned runs ahead are weighed against its deals */
const WINDOW_MS = 10 * 60_000
/** runs ahead a job creator may leave unsigned in a window beyond its deals run here */
const FREE_UNSIGNED = 1
/** job creators remembered at once */
const MAX_CREATORS = 1_024

/** A job creator's record in the current window: its deals run here, and its runs ahead left unsigned. */
interface Standing {
  since: number
  deals: number
  unsigned: number
}
/** after the proposal's expiry, the deal's run may still be on its way (the agree window's end) */
const GRACE_MS = 1_000

/** How runs ahead ended since the node started, and how many were not started. */
export interface RunsAheadCounts {
  /** started on a proposal */
  started: number
  /** taken over by their deal's run */
  taken: number
  /** ended without use: no deal took them by their proposal's expiry, real work came first, or they failed */
  stopped: number
  /** not started: the job's creator left too many unsigned lately, or too many were under way */
  refused: number
}

export class WarmRuns {
  private readonly runs = new Map<string, Entry>()
  /** job creators by address (lower case): what they signed and left unsigned lately */
  private readonly creators = new Map<string, Standing>()
  readonly counts: RunsAheadCounts = { started: 0, taken: 0, stopped: 0, refused: 0 }

  constructor (private readonly now: () => number = Date.now) {}

  /**
   * Starts `run` of a job of `author` under `key`, its results going to `dir`, unless one is under
   * way, too many are, or the author left one unsigned lately; stops it at `until` unless taken.
   */
  start (key: string, author: string, until: number, dir: string, run: (signal: AbortSignal) => Promise<ExecutionResult>): void {
    const now = this.now()
    const wait = until - now
    if (wait <= 0 || this.runs.has(key)) return
    if (this.runs.size >= MAX_WARM_RUNS || !this.trusted(author, now)) {
      this.counts.refused++
      return
    }
    this.counts.started++
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
        this.counts.stopped++
        await removeDir(entry.dir)
        return undefined
      }
      this.counts.taken++
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

  /** A deal of `author`'s runs here: it paid for one run, and may leave one more unsigned. */
  dealRun (author: string): void {
    this.standing(author).deals++
  }

  /** A run no deal took: stopped, and counted against its creator. */
  private unsigned (key: string): void {
    const entry = this.runs.get(key)
    if (entry === undefined) return
    void this.drop(key)
    this.standing(entry.author).unsigned++
  }

  private trusted (author: string, now: number): boolean {
    const standing = this.creators.get(author.toLowerCase())
    return standing === undefined || now - standing.since >= WINDOW_MS || standing.unsigned - standing.deals < FREE_UNSIGNED
  }

  /** The creator's record in its current window, a fresh one once the window has passed. */
  private standing (author: string): Standing {
    const address = author.toLowerCase()
    const now = this.now()
    let standing = this.creators.get(address)
    if (standing === undefined || now - standing.since >= WINDOW_MS) {
      standing = { since: now, deals: 0, unsigned: 0 }
      this.creators.delete(address)
      this.creators.set(address, standing)
      if (this.creators.size > MAX_CREATORS) this.creators.delete(this.creators.keys().next().value as string)
    }
    return standing
  }

  private async drop (key: string): Promise<void> {
    const entry = this.runs.get(key)
    if (entry === undefined) return
    this.runs.delete(key)
    clearTimeout(entry.timer)
    this.counts.stopped++
    entry.controller.abort(new Error('no deal took the run started ahead of it'))
    await entry.run
    await removeDir(entry.dir)
  }
}

async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true }).catch(() => undefined)
}
