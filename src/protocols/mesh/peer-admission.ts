/**
 * How many new offers each peer may pass on: a token bucket per forwarding peer. Gossipsub's
 * signed `from` names whoever signed a message, not whoever sent it, so one connection can carry
 * offers from any number of fresh keys; what one connection can carry is bounded here, before any
 * signature is checked. Past its rate a peer's offers are dropped unpunished (IGNORE THROTTLED): a
 * busy honest forwarder may pass it, and its offers come again with the next re-announcement.
 */
export interface AdmissionLimits {
  /** new offers per second a peer may pass on, on average */
  perSecond: number
  /** how many it may pass on at once */
  burst: number
}

export const DEFAULT_OFFER_ADMISSION: AdmissionLimits = { perSecond: 100, burst: 400 }

/** peers followed at once; the one heard from least recently is forgotten first (it starts full again) */
const MAX_PEERS = 10_000

export class PeerAdmission {
  private readonly buckets = new Map<string, { tokens: number, at: number }>()

  constructor (private readonly limits: AdmissionLimits, private readonly now: () => number) {}

  /** Whether `peer` may pass on one more new offer now (it is counted if so). */
  take (peer: string): boolean {
    const at = this.now()
    const held = this.buckets.get(peer)
    const tokens = held === undefined
      ? this.limits.burst
      : Math.min(this.limits.burst, held.tokens + (at - held.at) * this.limits.perSecond / 1000)
    this.buckets.delete(peer)
    this.buckets.set(peer, { tokens: tokens >= 1 ? tokens - 1 : tokens, at })
    if (this.buckets.size > MAX_PEERS) this.buckets.delete(this.buckets.keys().next().value as string)
    return tokens >= 1
  }
}
