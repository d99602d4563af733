/**
 * What the mesh layer knows from validated gossip: the live offers (to answer late joiners and to
 * re-announce our own) and the agreed deals (to check verdicts against). Bounded and pruned by expiry.
 * An offer a deal took is live no more: it is neither served to late joiners nor re-announced, and
 * a copy of it that comes again is not taken (a solver that restarted would propose it once more,
 * and keep a job waiting on a provider whose slot is busy).
 */
import type { Deal, MediationVerdict, MessageType, Verified } from '../messages/index.ts'
import type { TopicName } from './topics.ts'

export interface LiveOffer {
  topic: TopicName
  type: MessageType
  id: string
  author: string
  /** what supersedes what: a newer nonce under the same key replaces the older offer */
  key: string
  nonce: bigint
  expiry: number
  /** the canonical bytes, exactly as gossiped */
  bytes: Uint8Array
  /** published by this node (re-announced while live) */
  own: boolean
  message: Verified['message']
}

export interface KnownDeal {
  id: string
  deal: Deal
  until: number
}

export interface MeshStateLimits {
  maxOffers: number
  maxDeals: number
}

export const DEFAULT_MESH_STATE_LIMITS: MeshStateLimits = { maxOffers: 20_000, maxDeals: 20_000 }

/** The key under which newer offers replace older ones; job offers never replace each other. */
export function offerKey (verified: Verified): string {
  const m = verified.message as { author: string, slot?: number }
  switch (verified.type) {
    case 'ResourceOffer': return `ResourceOffer:${m.author}:${m.slot ?? 0}`
    case 'MediatorAnnouncement': return `MediatorAnnouncement:${m.author}`
    default: return `${verified.type}:${verified.id}`
  }
}

export class MeshState {
  private readonly offers = new Map<string, LiveOffer>()
  private readonly latestByKey = new Map<string, { id: string, nonce: bigint }>()
  private readonly deals = new Map<string, KnownDeal>()
  /** offer id → until when it is remembered as taken by a deal */
  private readonly taken = new Map<string, number>()

  constructor (private readonly limits: MeshStateLimits = DEFAULT_MESH_STATE_LIMITS) {}

  /** The newest nonce held under this offer's key, if any. */
  latestNonce (key: string): bigint | undefined {
    return this.latestByKey.get(key)?.nonce
  }

  addOffer (offer: LiveOffer): void {
    const previous = this.latestByKey.get(offer.key)
    if (previous !== undefined) {
      if (previous.nonce > offer.nonce) return
      if (previous.id !== offer.id) this.offers.delete(previous.id)
    }
    this.latestByKey.set(offer.key, { id: offer.id, nonce: offer.nonce })
    const existing = this.offers.get(offer.id)
    this.offers.set(offer.id, existing?.own === true ? { ...offer, own: true } : offer)
    if (this.offers.size > this.limits.maxOffers) this.evictSoonestExpiring()
  }

  offer (id: string): LiveOffer | undefined {
    return this.offers.get(id)
  }

  liveOffers (now: number): LiveOffer[] {
    return [...this.offers.values()].filter(o => o.expiry >= now)
  }

  addDeal (id: string, deal: Deal): void {
    this.deals.set(id, { id, deal, until: deal.mediateDeadline })
    while (this.deals.size > this.limits.maxDeals) this.deals.delete(this.deals.keys().next().value as string)
    for (const offerId of [deal.jobOfferId, deal.resourceOfferId]) {
      const offer = this.offers.get(offerId)
      this.offers.delete(offerId)
      this.taken.set(offerId, offer?.expiry ?? deal.agreeDeadline)
    }
    while (this.taken.size > 2 * this.limits.maxDeals) this.taken.delete(this.taken.keys().next().value as string)
  }

  /** Whether a deal the node knows took this offer. */
  isTaken (offerId: string): boolean {
    return this.taken.has(offerId)
  }

  deal (id: string): KnownDeal | undefined {
    return this.deals.get(id)
  }

  /** A verdict's mediator must be one the deal named. */
  verdictMediatorAllowed (verdict: MediationVerdict): boolean | undefined {
    const known = this.deals.get(verdict.dealId)
    if (known === undefined) return undefined
    return known.deal.mediators.includes(verdict.author)
  }

  prune (now: number): void {
    for (const [id, offer] of this.offers) {
      if (offer.expiry < now) {
        this.offers.delete(id)
        if (this.latestByKey.get(offer.key)?.id === id) this.latestByKey.delete(offer.key)
      }
    }
    for (const [id, deal] of this.deals) if (deal.until < now) this.deals.delete(id)
    for (const [id, until] of this.taken) if (until < now) this.taken.delete(id)
  }

  get offerCount (): number {
    return this.offers.size
  }

  private evictSoonestExpiring (): void {
    let soonest: LiveOffer | undefined
    for (const o of this.offers.values()) if (!o.own && (soonest === undefined || o.expiry < soonest.expiry)) soonest = o
    if (soonest === undefined) return
    this.offers.delete(soonest.id)
    if (this.latestByKey.get(soonest.key)?.id === soonest.id) this.latestByKey.delete(soonest.key)
  }
}
