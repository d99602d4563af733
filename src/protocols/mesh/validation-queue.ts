/**
 * A bounded queue in front of validation: at most `maxPending` messages wait, at most
 * `maxPerSource` of them passed on by one peer, and they are validated one at a time, taking the
 * peers' queues in turn and yielding to the event loop between messages. So a peer that floods the
 * node fills its own queue, not the node's: a message from any other peer finds room, and waits
 * for at most one message of each busy peer. A message that finds no room is dropped (IGNORE
 * QUEUE_FULL).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises'

export class QueueFullError extends Error {
  override readonly name = 'QueueFullError'
}

interface Task {
  run: () => void
}

/** the source of messages whose peer is not known (offer syncs, tests) */
const UNKNOWN_SOURCE = ''

export class ValidationQueue {
  private pending = 0
  /** waiting tasks by source, in the order the sources are next served */
  private readonly sources = new Map<string, Task[]>()
  private draining = false

  constructor (private readonly maxPending: number, private readonly maxPerSource = Math.max(1, Math.floor(maxPending / 8))) {}

  run<T> (job: () => T, source = UNKNOWN_SOURCE): Promise<T> {
    const queue = this.sources.get(source)
    if (this.pending >= this.maxPending) return Promise.reject(new QueueFullError(`${this.pending} messages awaiting validation`))
    if ((queue?.length ?? 0) >= this.maxPerSource) return Promise.reject(new QueueFullError(`${queue!.length} messages from ${source || 'one source'} awaiting validation`))
    this.pending++
    const result = new Promise<T>((resolve, reject) => {
      const task: Task = {
        run: () => {
          try {
            resolve(job())
          } catch (err) {
            reject(err)
          }
        }
      }
      if (queue === undefined) this.sources.set(source, [task])
      else queue.push(task)
    })
    if (!this.draining) this.drain().catch(() => undefined)
    return result
  }

  get length (): number {
    return this.pending
  }

  private async drain (): Promise<void> {
    this.draining = true
    try {
      // yield first: a burst arriving together is queued before the first is served
      await yieldToLoop()
      for (;;) {
        const next = this.sources.entries().next()
        if (next.done === true) return
        const [source, tasks] = next.value
        const task = tasks.shift()!
        // the source goes to the back of the turn, or leaves it when it has nothing left
        this.sources.delete(source)
        if (tasks.length > 0) this.sources.set(source, tasks)
        this.pending--
        task.run()
        await yieldToLoop()
      }
    } finally {
      this.draining = false
    }
  }
}
