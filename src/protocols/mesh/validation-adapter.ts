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
import type { OfferFunding } from './offer-funding.ts'
import { PeerAdmission, type AdmissionLimits } from './peer-admission.ts'
import { OFFER_TOPICS } from './topics.ts'

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
  /** new offers each forwarding peer may pass on (absent: no limit) */
  offerAdmission?: AdmissionLimits
  /** the escrow check of offers' authors (absent: none, as on a network without a chain) */
  funding?: OfferFunding
  onInternalError?: (err: unknown) => void
}

const RESULT_OF: Record<GossipAction, 'ignore' | 'reject'> = { IGNORE: 'ignore', REJECT: 'reject' }

export class GossipValidationAdapter {
  private readonly counts = new Map<string, ValidationCounter>()
  private readonly queue: ValidationQueue
  private readonly admission: PeerAdmission | undefined

  constructor (private readonly options: GossipValidationAdapterOptions) {
    this.queue = new ValidationQueue(options.maxQueuedValidations ?? 1024)
    this.admission = options.offerAdmission === undefined ? undefined : new PeerAdmission(options.offerAdmission, options.now)
  }

  /**
   * Validates a gossip message passed on by peer `source`: within the peer's admission rate (for
   * offers), after waiting its turn in the bounded queue, then the author's escrow.
   */
  async validateQueued (topic: TopicName, bytes: Uint8Array, publisher: string | undefined, source?: string): Promise<ValidationOutcome> {
    if (source !== undefined && this.admission !== undefined && OFFER_TOPICS.includes(topic) && !this.admission.take(source)) {
      return this.ignored(topic, 'THROTTLED', `peer ${source} passed on more new offers than it may`)
    }
    let checked: ValidationOutcome
    try {
      checked = await this.queue.run(() => this.check(topic, bytes, publisher), source)
    } catch (err) {
      if (!(err instanceof QueueFullError)) throw err
      return this.ignored(topic, 'QUEUE_FULL', err.message)
    }
    return await this.funded(topic, checked, bytes)
  }

  /** Validates a message from an offer sync (no publisher, no forwarder to limit), escrow included. */
  async validateSynced (topic: TopicName, bytes: Uint8Array): Promise<ValidationOutcome> {
    return await this.funded(topic, this.check(topic, bytes, undefined), bytes)
  }

  /** Validates now, with no escrow check; on accept the message is remembered (seen, and held as an offer or deal). */
  validate (topic: TopicName, bytes: Uint8Array, publisher: string | undefined): ValidationOutcome {
    const outcome = this.check(topic, bytes, publisher)
    if (outcome.result === 'accept') this.accept(topic, outcome.verified, bytes)
    return outcome
  }

  private async funded (topic: TopicName, checked: ValidationOutcome, bytes: Uint8Array): Promise<ValidationOutcome> {
    if (checked.result !== 'accept') return checked
    const funding = this.options.funding
    if (funding !== undefined && !(await funding.covers(checked.verified))) {
      return this.ignored(topic, 'UNFUNDED', `the author of ${checked.verified.type} ${checked.verified.id} holds less in escrow than it offers to lock`)
    }
    this.accept(topic, checked.verified, bytes)
    return checked
  }

  private accept (topic: TopicName, verified: Verified, bytes: Uint8Array): void {
    remember(this.options.state, this.options.seen, topic, verified, bytes, false)
    this.count(topic, 'accept', 'OK')
  }

  private ignored (topic: TopicName, code: GossipErrorCode, reason: string): ValidationOutcome {
    this.count(topic, 'ignore', code)
    return { result: 'ignore', code, reason }
  }

  /** The validators' verdict; counts a refusal, not an acceptance (`accept` does). */
  private check (topic: TopicName, bytes: Uint8Array, publisher: string | undefined): ValidationOutcome {
    const { domain, seen, state } = this.options
    try {
      const verified = VALIDATORS[topic](bytes, { domain, now: this.options.now(), publisher, seen, state })
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
