import { Worker } from 'node:worker_threads'
import { storedHashHolds } from './record.ts'
import type { Service } from '../../support/lifecycle.ts'

const WORKER = new URL('./hash-worker.mjs', import.meta.url)

interface Pending {
  texts: string[]
  resolve: (bad: number) => void
}

/**
 * Checks the hashes of pages of stored records (storedHashHolds) on a worker thread, so that a long
 * read uses a second core: the caller decodes a page while its hashes are checked. A verdict is the
 * index of the first record in the page whose hash does not hold, -1 when all do. Until the worker
 * runs, and once it has failed, pages are checked on the calling thread.
 */
export class HashChecker implements Service {
  /** resolves true once the worker runs, false when it failed to */
  readonly ready: Promise<boolean>
  private running = false
  private failed = false
  private readonly pending: Pending[] = []

  private constructor (private readonly worker: Worker) {
    // an idle worker does not keep the process alive; one with a page to check does
    worker.unref()
    this.ready = new Promise((resolve) => {
      // the worker's first message says it listens (it is online before its script has loaded)
      worker.once('message', () => {
        this.running = !this.failed
        resolve(this.running)
        worker.on('message', (bad: number) => this.settle(bad))
      })
      worker.on('error', () => { this.fail(); resolve(false) })
      worker.once('exit', () => { this.fail(); resolve(false) })
    })
  }

  /** Starts the worker; undefined when it cannot be started. */
  static start (script: URL = WORKER): HashChecker | undefined {
    try {
      // the worker is plain JavaScript: it needs none of the parent's flags (a TypeScript loader)
      return new HashChecker(new Worker(script, { execArgv: [] }))
    } catch {
      return undefined
    }
  }

  check (texts: string[]): Promise<number> {
    if (!this.running) return Promise.resolve(firstBad(texts))
    return new Promise((resolve) => {
      if (this.pending.length === 0) this.worker.ref()
      this.pending.push({ texts, resolve })
      // the texts are copied to the worker: some 0.3 µs a record here, against 1 µs or more to hash one
      this.worker.postMessage(texts)
    })
  }

  async stop (): Promise<void> {
    this.fail()
    await this.worker.terminate()
  }

  private settle (bad: number): void {
    const done = this.pending.shift()
    if (done === undefined) return
    if (this.pending.length === 0) this.worker.unref()
    done.resolve(bad)
  }

  /** Pages still at the worker are checked here instead. */
  private fail (): void {
    this.running = false
    this.failed = true
    for (const { texts, resolve } of this.pending.splice(0)) resolve(firstBad(texts))
  }
}

function firstBad (texts: string[]): number {
  return texts.findIndex(text => !storedHashHolds(text))
}
