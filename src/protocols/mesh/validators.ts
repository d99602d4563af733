/**
 * One gossip validator per message type. Each runs the same checks in this order, and throws a
 * GossipValidationError at the first that fails:
 *   1. size cap           REJECT OVERSIZED
 *   2. decode             REJECT MALFORMED (not UTF-8 JSON, not an envelope), WRONG_TOPIC
 *   3. schema             REJECT INVALID_SCHEMA
 *   4. signature          REJECT BAD_SIGNATURE (the canonical-encoding check follows: NON_CANONICAL)
 *   5. author             REJECT WRONG_AUTHOR: not allowed on this topic, or not the publishing peer
 *   6. not expired        IGNORE EXPIRED (clock skew and slow paths make this no proof of malice)
 *   7. not already seen   IGNORE DUPLICATE
 *   8. consistent         IGNORE SUPERSEDED / TAKEN / UNKNOWN_REFERENCE, REJECT INCONSISTENT; but IGNORE
 *                         INCONSISTENT for a deal, which a forwarder that never saw the offers could
 *                         not have judged (gossipsub would penalise it, not the deal's signers)
 *   9. room (offers)      IGNORE FULL: the mesh state's fair shares (mesh-state.ts); an honest
 *                         forwarder cannot know what another node has room for
 * The adapter adds what needs more than the bytes: the forwarding peer's admission rate (IGNORE
 * THROTTLED) and the author's escrow (IGNORE UNFUNDED).
 */
import {
  decodeEnvelope, encodeEnvelope, isMessageError, MAX_ENCODED_SIZE, verifyEnvelope,
  type Deal, type LilypadDomain, type MediationVerdict, type MessageType, type Verified
} from '../messages/index.ts'
import { ignore, reject } from './errors.ts'
import { offerKey, type MeshState } from './mesh-state.ts'
import { TOPIC_MESSAGE_TYPE, type TopicName } from './topics.ts'
import type { SeenCache } from './seen-cache.ts'

export interface ValidationContext {
  domain: LilypadDomain
  now: number
  /**
   * The address of the peer that published the message (gossipsub's signed `from`), which the
   * author must match where the type requires it; undefined when the message arrived another
   * way (an offer sync), where only the message's own signatures count.
   */
  publisher: string | undefined
  seen: SeenCache
  state: MeshState
}

export type GossipValidator = (bytes: Uint8Array, ctx: ValidationContext) => Verified

function decodeChecked (type: MessageType, bytes: Uint8Array, ctx: ValidationContext): Verified {
  // 1. size
  const max = MAX_ENCODED_SIZE[type]
  if (bytes.byteLength > max) reject('OVERSIZED', `${type} of ${bytes.byteLength} bytes exceeds ${max}`)
  // 2. decode
  let envelope: unknown
  try {
    envelope = decodeEnvelope(bytes)
  } catch (err) {
    if (isMessageError(err, 'OVERSIZED')) reject('OVERSIZED', err.message)
    reject('MALFORMED', isMessageError(err) ? err.message : 'undecodable')
  }
  const actual = (envelope as { type: string }).type
  if (actual !== type) reject('WRONG_TOPIC', `a ${actual} on the ${type} topic`)
  // 3 and 4. schema, then signatures (verifyEnvelope checks them in that order)
  let verified: Verified
  try {
    verified = verifyEnvelope(ctx.domain, envelope)
  } catch (err) {
    if (isMessageError(err, 'INVALID_SCHEMA') || isMessageError(err, 'UNKNOWN_TYPE')) reject('INVALID_SCHEMA', err.message)
    if (isMessageError(err)) reject('BAD_SIGNATURE', err.message)
    throw err
  }
  if (!sameBytes(encodeEnvelope(verified.envelope), bytes)) reject('NON_CANONICAL', `${type} ${verified.id} is not canonically encoded`)
  return verified
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b)
}

function authorIsPublisher (verified: Verified, ctx: ValidationContext): void {
  if (ctx.publisher === undefined) return
  const author = (verified.message as { author: string }).author
  if (author !== ctx.publisher) reject('WRONG_AUTHOR', `${verified.type} by ${author} published by ${ctx.publisher}`)
}

function notExpired (verified: Verified, expiry: number, ctx: ValidationContext): void {
  if (expiry < ctx.now) ignore('EXPIRED', `${verified.type} ${verified.id} expired at ${expiry}`)
}

function notSeen (verified: Verified, ctx: ValidationContext): void {
  if (ctx.seen.has(verified.id, ctx.now)) ignore('DUPLICATE', `${verified.type} ${verified.id} already seen`)
}

function notSuperseded (verified: Verified, ctx: ValidationContext): void {
  const latest = ctx.state.latestNonce(offerKey(verified))
  const nonce = BigInt((verified.message as { nonce: string }).nonce)
  if (latest !== undefined && latest > nonce) ignore('SUPERSEDED', `${verified.type} ${verified.id} has an older nonce than one held`)
}

/** An offer: published by its author, live, new, and not older than the one it would replace. */
function offerValidator (type: 'ResourceOffer' | 'JobOffer' | 'MediatorAnnouncement'): GossipValidator {
  return (bytes, ctx) => {
    const verified = decodeChecked(type, bytes, ctx)
    authorIsPublisher(verified, ctx)
    notExpired(verified, (verified.message as { expiry: number }).expiry, ctx)
    notSeen(verified, ctx)
    notSuperseded(verified, ctx)
    if (ctx.state.isTaken(verified.id)) ignore('TAKEN', `${type} ${verified.id} was taken by a deal`)
    const author = (verified.message as { author: string }).author
    if (!ctx.state.hasRoomFor(offerKey(verified), author, bytes.byteLength)) ignore('FULL', `no room for ${type} ${verified.id} of ${author}`)
    return verified
  }
}

/** An agreed deal: both signatures (checked by the codec), published by one of its parties, still open. */
const validateDeal: GossipValidator = (bytes, ctx) => {
  const verified = decodeChecked('Deal', bytes, ctx)
  const deal = verified.message as Deal
  if (ctx.publisher !== undefined && deal.jobCreator !== ctx.publisher && deal.resourceProvider !== ctx.publisher) {
    reject('WRONG_AUTHOR', `deal ${verified.id} published by ${ctx.publisher}, who is not a party`)
  }
  notExpired(verified, deal.mediateDeadline, ctx)
  notSeen(verified, ctx)
  // dropped, not punished: the peer that passed it on may not know the offers it contradicts
  const job = ctx.state.offer(deal.jobOfferId)
  if (job !== undefined && (job.author !== deal.jobCreator || (job.message as { specHash: string }).specHash !== deal.specHash)) {
    ignore('INCONSISTENT', `deal ${verified.id} does not match job offer ${deal.jobOfferId}`)
  }
  const resource = ctx.state.offer(deal.resourceOfferId)
  if (resource !== undefined && resource.author !== deal.resourceProvider) {
    ignore('INCONSISTENT', `deal ${verified.id} does not match resource offer ${deal.resourceOfferId}`)
  }
  return verified
}

/** A verdict: by its mediator, about a deal the node knows, whose mediators include that mediator. */
const validateVerdict: GossipValidator = (bytes, ctx) => {
  const verified = decodeChecked('MediationVerdict', bytes, ctx)
  authorIsPublisher(verified, ctx)
  const verdict = verified.message as MediationVerdict
  notExpired(verified, verdict.expiry, ctx)
  notSeen(verified, ctx)
  const allowed = ctx.state.verdictMediatorAllowed(verdict)
  if (allowed === undefined) ignore('UNKNOWN_REFERENCE', `verdict ${verified.id} is about unknown deal ${verdict.dealId}`)
  if (!allowed) reject('INCONSISTENT', `${verdict.author} is not a mediator of deal ${verdict.dealId}`)
  return verified
}

export const VALIDATORS: Record<TopicName, GossipValidator> = {
  'resource-offers': offerValidator('ResourceOffer'),
  'job-offers': offerValidator('JobOffer'),
  deals: validateDeal,
  mediators: offerValidator('MediatorAnnouncement'),
  verdicts: validateVerdict
}

/** The time until which a validated message is remembered as seen (its own expiry). */
export function seenUntil (verified: Verified): number {
  return verified.type === 'Deal' ? (verified.message as Deal).mediateDeadline : (verified.message as { expiry: number }).expiry
}

/** Records an accepted message: seen, and held as a live offer or known deal. */
export function remember (state: MeshState, seen: SeenCache, topic: TopicName, verified: Verified, bytes: Uint8Array, own: boolean): void {
  seen.add(verified.id, seenUntil(verified))
  if (verified.type === 'Deal') {
    state.addDeal(verified.id, verified.message as Deal)
    return
  }
  if (TOPIC_MESSAGE_TYPE[topic] !== verified.type || topic === 'verdicts') return
  const m = verified.message as { author: string, nonce: string, expiry: number }
  state.addOffer({
    topic, type: verified.type, id: verified.id, author: m.author, key: offerKey(verified),
    nonce: BigInt(m.nonce), expiry: m.expiry, bytes, own, message: verified.message
  })
}
