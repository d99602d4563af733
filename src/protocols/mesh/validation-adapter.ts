/**
 * Turns validator outcomes into gossipsub's accept / ignore / reject and counts them by topic and
 * code. An error the validators did not throw on purpose becomes IGNORE (code INTERNAL), so a bug
 * of ours never penalises an honest peer.
 */
import type { LilypadDomain, Verified } from '../messages/index.ts'
import { isGossipValidationError, type GossipAction, type GossipErrorCode } from './errors.ts'
import type { MeshState } from './mesh-state.ts'
import type { SeenCache } from './seen-cache.ts'
import type { TopicName } from './topics.ts'
import { QueueFullError, ValidationQueue } from './validation-queue.ts'
import { remember, VALIDATORS } from './validators.ts'

export type ValidationResult = 'accept' | 'ignore' | 'reject'

export type ValidationOutcome =
  | { result: 'accept', verified: Verified }
  | { result: 'ignore' | 'reject', code: GossipErrorCode, reason: string }

export interface ValidationCounter {
  topic: TopicName
  result: ValidationResult
  /** 'OK' for accepted messages */
  code: GossipErrorCode | 'OK'
  count: number
}

export interface GossipValidationAdapterOptions {
  domain: LilypadDomain
  seen: SeenCache
  state: MeshState
  now: () => number
  /** messages that may wait for validation at once (default 1024) */
  maxQueuedValidations?: number
  onInternalError?: (err: unknown) => void
}

const RESULT_OF: Record<GossipAction, 'ignore' | 'reject'> = { IGNORE: 'ignore', REJECT: 'reject' }

export class GossipValidationAdapter {
  private readonly counts = new Map<string, ValidationCounter>()
  private readonly queue: ValidationQueue

  constructor (private readonly options: GossipValidationAdapterOptions) {
    this.queue = new ValidationQueue(options.maxQueuedValidations ?? 1024)
  }

  /** Validates a gossip message after waiting its turn in the bounded queue. */
  async validateQueued (topic: TopicName, bytes: Uint8Array, publisher: string | undefined): Promise<ValidationOutcome> {
    try {
      return await this.queue.run(() => this.validate(topic, bytes, publisher))
    } catch (err) {
      if (!(err instanceof QueueFullError)) throw err
      this.count(topic, 'ignore', 'QUEUE_FULL')
      return { result: 'ignore', code: 'QUEUE_FULL', reason: err.message }
    }
  }

  /** Validates now; on accept the message is remembered (seen, and held as an offer or deal). */
  validate (topic: TopicName, bytes: Uint8Array, publisher: string | undefined): ValidationOutcome {
    const { domain, seen, state } = this.options
    try {
      const verified = VALIDATORS[topic](bytes, { domain, now: this.options.now(), publisher, seen, state })
      remember(state, seen, topic, verified, bytes, false)
      this.count(topic, 'accept', 'OK')
      return { result: 'accept', verified }
    } catch (err) {
      if (isGossipValidationError(err)) {
        const result = RESULT_OF[err.action] as 'ignore' | 'reject'
        this.count(topic, result, err.code)
        return { result, code: err.code, reason: err.message }
      }
      this.options.onInternalError?.(err)
      this.count(topic, 'ignore', 'INTERNAL')
      return { result: 'ignore', code: 'INTERNAL', reason: err instanceof Error ? err.message : String(err) }
    }
  }

  /** Counters by topic, result and code, e.g. for metrics. */
  counters (): ValidationCounter[] {
    return [...this.counts.values()].map(c => ({ ...c }))
  }

  countOf (filter: Partial<Omit<ValidationCounter, 'count'>>): number {
    let total = 0
    for (const c of this.counts.values()) {
      if ((filter.topic === undefined || filter.topic === c.topic) &&
        (filter.result === undefined || filter.result === c.result) &&
        (filter.code === undefined || filter.code === c.code)) total += c.count
    }
    return total
  }

  get queued (): number {
    return this.queue.length
  }

  private count (topic: TopicName, result: ValidationResult, code: GossipErrorCode | 'OK'): void {
    const key = `${topic}|${result}|${code}`
    const counter = this.counts.get(key)
    if (counter === undefined) this.counts.set(key, { topic, result, code, count: 1 })
    else counter.count++
  }
}
