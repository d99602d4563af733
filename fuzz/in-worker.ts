/**
 * Runs a target in a worker thread with a capped heap, and makes a worker that dies (out of memory,
 * hung, or exited) a finding on the input it was running. The worker writes the number of each input
 * to shared memory before running it, which costs the run nothing like a message would; a second
 * worker then replays that one input alone by its fast-check path, sending it before it runs.
 */
import { Worker } from 'node:worker_threads'
import type { FuzzResult } from './fuzz-target.ts'

/** An input still running after this long is a hang. */
export const HANG_MS = 60_000

/**
 * The old generation of a target's worker, in MB. A target's modules and fixtures take about 40 MB,
 * and its heap stays under 65 MB over a 20,000-input run: this is four times that, for what a
 * target keeps as it runs, yet an input that allocates without bound fills it in a few seconds.
 */
export const HEAP_MB = 256
/** V8's own default on 64 bits, named because it must stay under ALLOC_BYTES (fuzz-target.ts). */
export const YOUNG_MB = 48
/**
 * How far the process may grow past its size when the worker started, in MB: ArrayBuffers live
 * outside the heap that HEAP_MB caps, and an input that fills them without bound would fill the machine.
 */
export const RSS_MB = HEAP_MB + YOUNG_MB + 1024
const WATCH_MS = 100

export interface WorkerJob {
  name: string
  runs: number
  seed: number
  /** the module whose TARGETS has the target: fuzz/targets.ts unless told */
  targets?: URL
  onProgress?: (runs: number) => void
}

type Death = 'heap' | 'rss' | 'hang' | 'error' | 'exit'

/** How one worker ended: its result, or how it died on which input (1 for the first); and the last input it sent. */
interface Outcome { result?: FuzzResult, death?: Death, how?: string, at: number, input?: string }

function attempt (job: WorkerJob, replay?: { at: number, nameOnly: boolean }): Promise<Outcome> {
  return new Promise((resolve) => {
    const current = new Int32Array(new SharedArrayBuffer(4))
    const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), {
      workerData: { name: job.name, runs: job.runs, seed: job.seed, targets: (job.targets ?? new URL('./targets.ts', import.meta.url)).href, current: current.buffer, replay: replay?.at },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB, maxYoungGenerationSizeMb: YOUNG_MB }
    })
    const rssAtStart = process.memoryUsage.rss()
    const outcome: Outcome = { at: 0 }
    let since = performance.now()
    const watch = setInterval(() => {
      const at = Atomics.load(current, 0)
      if (at !== outcome.at) {
        outcome.at = at
        since = performance.now()
      } else if (performance.now() - since > HANG_MS) stop('hang')
      if (process.memoryUsage.rss() - rssAtStart > RSS_MB * 2 ** 20) stop('rss')
    }, WATCH_MS)
    function stop (death: Death): void {
      outcome.death ??= death
      void worker.terminate()
    }
    worker.on('message', (m: { progress?: number, input?: string, result?: FuzzResult }) => {
      if (m.result !== undefined) {
        outcome.result = m.result
        void worker.terminate()
      } else if (m.input !== undefined) {
        outcome.input = m.input
        if (replay?.nameOnly === true) stop('hang')
      } else if (m.progress !== undefined) job.onProgress?.(m.progress)
    })
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') outcome.death ??= 'heap'
      else {
        // thrown outside the property: by the target's module, or by a promise no call awaited
        outcome.death ??= 'error'
        outcome.how ??= `${err.name}: ${err.message}`
      }
    })
    worker.on('exit', (code) => {
      clearInterval(watch)
      outcome.at = Math.max(outcome.at, Atomics.load(current, 0))
      if (outcome.result === undefined) {
        outcome.death ??= 'exit'
        outcome.how ??= String(code)
      }
      resolve(outcome)
    })
  })
}

function diedOf ({ death, how }: Outcome): string {
  switch (death!) {
    case 'heap': return `ran the worker out of its ${HEAP_MB} MB heap`
    case 'rss': return `grew the process by over ${RSS_MB} MB, outside the heap`
    case 'hang': return `ran for over ${HANG_MS / 1000} s: a hang`
    case 'error': return `made the worker throw ${how}`
    case 'exit': return `ended the worker with exit code ${how}`
  }
}

/** Runs `job.runs` inputs of one target in a worker, as fuzzTarget does in this thread. */
export async function runInWorker (job: WorkerJob): Promise<FuzzResult> {
  const start = performance.now()
  const first = await attempt(job)
  if (first.result !== undefined) return first.result
  const death = first.death!
  const kind = death === 'heap' || death === 'rss' ? 'allocation' : death === 'hang' ? 'slow' : 'crash'
  const result: FuzzResult = { target: job.name, runs: first.at, seed: job.seed, ms: Math.round(performance.now() - start), finding: { kind, message: '', input: '', path: '' } }
  const finding = result.finding!
  if (first.at === 0) {
    finding.message = `before the first input, loading the target ${diedOf(first)}`
    finding.input = '(none)'
  } else if (first.input !== undefined) {
    // it died while fast-check shrank a finding, on an input it had sent
    finding.message = `input #${first.at}, while shrinking a finding, ${diedOf(first)}`
    finding.input = first.input
  } else {
    const alone = await attempt(job, { at: first.at, nameOnly: death === 'hang' })
    finding.message = `input #${first.at} ${diedOf(first)}`
    finding.input = alone.input ?? '(not known: replay the path)'
    finding.path = String(first.at - 1)
    if (alone.result?.finding !== undefined) {
      finding.message += `; alone it gives a finding too: ${alone.result.finding.message}`
      finding.input = alone.result.finding.input
      finding.path = alone.result.finding.path
    } else if (death === 'hang') {
      // named, not waited for again
    } else if (alone.result !== undefined) finding.message += kind === 'allocation' ? '; alone it does not, so memory grew over the inputs before it' : '; alone it does not'
    else finding.message += alone.death === death ? '; alone it does again' : `; alone it ${diedOf(alone)}`
  }
  return result
}
