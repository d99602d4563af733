/**
 * A bounded queue in front of validation: at most `maxPending` messages wait, and they are
 * validated one at a time, yielding to the event loop between them so a flood of messages cannot
 * starve the node's other work. A message that finds the queue full is dropped (IGNORE QUEUE_FULL).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError'
}

export class ValidationQueue {
  private pending = 0
  private tail: Promise<unknown> = Promise.resolve()

  constructor (private readonly maxPending: number) {}

  run<T> (job: () => T): Promise<T> {
    if (this.pending >= this.maxPending) return Promise.reject(new QueueFullError(`${this.pending} messages awaiting validation`))
    this.pending++
    const result = this.tail.then(async () => {
      try {
        return job()
      } finally {
        this.pending--
        await yieldToLoop()
      }
    })
    this.tail = result.catch(() => undefined)
    return result
  }

  get length (): number {
    return this.pending
  }
}
