/**
 * What the mesh layer knows from validated gossip: the live offers (to answer late joiners and to
 * re-announce our own) and the agreed deals (to check verdicts against). Bounded and pruned by expiry.
 * Anyone can sign offers, so the bounds are shared fairly: one author holds at most its share, and
 * when the whole is full a newcomer takes the place of an offer of the author holding the most, or
 * is not taken at all (the offers held first stay: a flood of fresh keys cannot push them out).
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
  /** live offers held, all authors together */
  maxOffers: number
  /** their gossiped bytes, all together */
  maxOfferBytes: number
  /** live offers of one author */
  maxOffersPerAuthor: number
  maxDeals: number
}

export const DEFAULT_MESH_STATE_LIMITS: MeshStateLimits = { maxOffers: 20_000, maxOfferBytes: 32 * 1024 * 1024, maxOffersPerAuthor: 64, maxDeals: 20_000 }

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
  /** author → the ids of its live offers */
  private readonly byAuthor = new Map<string, Set<string>>()
  private offerBytes = 0
  /** the authors of this node's own offers, which are never dropped to make room */
  private readonly ownAuthors = new Set<string>()
  private readonly latestByKey = new Map<string, { id: string, nonce: bigint }>()
  private readonly deals = new Map<string, KnownDeal>()
  /** offer id → until when it is remembered as taken by a deal */
  private readonly taken = new Map<string, number>()

  private readonly limits: MeshStateLimits

  constructor (limits: Partial<MeshStateLimits> = {}) {
    this.limits = { ...DEFAULT_MESH_STATE_LIMITS, ...limits }
  }

  /**
   * Whether an offer under `key` by `author` of `size` bytes can be held: it replaces an offer held
   * under its key, or its author is within its share and there is room, or room can be made by
   * dropping an offer of an author that holds more than this one would.
   */
  hasRoomFor (key: string, author: string, size: number): boolean {
    if (this.latestByKey.has(key)) return true
    const mine = this.byAuthor.get(author)?.size ?? 0
    if (mine >= this.limits.maxOffersPerAuthor) return false
    if (this.offers.size < this.limits.maxOffers && this.offerBytes + size <= this.limits.maxOfferBytes) return true
    const [, most] = this.mostProlific()
    return most > mine + 1
  }

  /** The newest nonce held under this offer's key, if any. */
  latestNonce (key: string): bigint | undefined {
    return this.latestByKey.get(key)?.nonce
  }

  addOffer (offer: LiveOffer): void {
    const previous = this.latestByKey.get(offer.key)
    if (previous !== undefined) {
      if (previous.nonce > offer.nonce) return
      const replaced = previous.id === offer.id ? undefined : this.offers.get(previous.id)
      if (replaced !== undefined) this.forget(replaced)
    }
    this.latestByKey.set(offer.key, { id: offer.id, nonce: offer.nonce })
    const existing = this.offers.get(offer.id)
    if (existing !== undefined) this.forget(existing)
    this.hold(existing?.own === true ? { ...offer, own: true } : offer)
    while (this.offers.size > this.limits.maxOffers || this.offerBytes > this.limits.maxOfferBytes) {
      if (!this.evictFromMostProlific()) break
    }
  }

  private hold (offer: LiveOffer): void {
    this.offers.set(offer.id, offer)
    if (offer.own) this.ownAuthors.add(offer.author)
    this.offerBytes += offer.bytes.byteLength
    let ids = this.byAuthor.get(offer.author)
    if (ids === undefined) this.byAuthor.set(offer.author, ids = new Set())
    ids.add(offer.id)
  }

  /** Drops an offer (and its key, when it is the newest under it). */
  private drop (offer: LiveOffer): void {
    this.forget(offer)
    if (this.latestByKey.get(offer.key)?.id === offer.id) this.latestByKey.delete(offer.key)
  }

  private forget (offer: LiveOffer): void {
    if (!this.offers.delete(offer.id)) return
    this.offerBytes -= offer.bytes.byteLength
    const ids = this.byAuthor.get(offer.author)
    ids?.delete(offer.id)
    if (ids?.size === 0) this.byAuthor.delete(offer.author)
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
      if (offer !== undefined) this.forget(offer)
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
    for (const offer of [...this.offers.values()]) if (offer.expiry < now) this.drop(offer)
    for (const [id, deal] of this.deals) if (deal.until < now) this.deals.delete(id)
    for (const [id, until] of this.taken) if (until < now) this.taken.delete(id)
  }

  get offerCount (): number {
    return this.offers.size
  }

  /** The author, other than this node, holding the most offers, and how many. */
  private mostProlific (): [string | undefined, number] {
    let author: string | undefined
    let most = 0
    for (const [a, ids] of this.byAuthor) {
      if (ids.size > most && !this.ownAuthors.has(a)) {
        author = a
        most = ids.size
      }
    }
    return [author, most]
  }

  /** Drops the soonest-expiring offer of the author holding the most; false when nothing can go. */
  private evictFromMostProlific (): boolean {
    const [author] = this.mostProlific()
    if (author === undefined) return false
    let soonest: LiveOffer | undefined
    for (const id of this.byAuthor.get(author) ?? []) {
      const o = this.offers.get(id)
      if (o !== undefined && !o.own && (soonest === undefined || o.expiry < soonest.expiry)) soonest = o
    }
    if (soonest === undefined) return false
    this.drop(soonest)
    return true
  }

  get offerBytesHeld (): number {
    return this.offerBytes
  }
}
