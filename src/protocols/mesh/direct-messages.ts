/**
 * Signed messages over direct protocols: a frame is UTF-8 JSON `{ envelope, attachments?, head? }`,
 * where attachments are signed messages the receiver needs as context (the offers behind a proposal)
 * and `head` is the sender's event-log head under its signature (see log-head.ts), which the receiver
 * logs with the message.
 * The receiver verifies every signature and that the sending peer signed the envelope (or, passing
 * on a message about a deal, signed the deal it attaches), before the message reaches a handler; a
 * frame that fails is refused with INVALID_MESSAGE.
 */
import type { PeerId } from '@libp2p/interface'
import {
  DEAL_DELIVERY_GRACE_MS,
  isMessageError, MAX_ENCODED_SIZE, verifyEnvelope, type Envelope, type LilypadDomain, type Verified
} from '../messages/index.ts'
import { isMeshError, MeshError } from './errors.ts'
import { headSigner, isSignedHead, type SignedHead } from '../messages/log-head.ts'
import { addressOfPeer } from './peer-identity.ts'
import { MAX_WIRE_DEPTH, nestsDeeperThan } from '../messages/json-depth.ts'

export interface DirectMessage {
  envelope: Envelope
  attachments?: Envelope[]
  /** the sender's log head as it sends, signed by the sending peer's key */
  head?: SignedHead
}

export interface ReceivedDirectMessage {
  protocol: string
  peer: PeerId
  /** the sending peer's Ethereum address, which signed `verified` */
  address: string
  verified: Verified
  /** as received; verify them by type where they matter */
  attachments: Verified[]
  /** the raw envelopes, for the event log */
  envelope: Envelope
  attachmentEnvelopes: Envelope[]
  /** the sender's signed log head, when it sent one */
  head?: SignedHead
}

export const MAX_ATTACHMENTS = 4

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeDirectMessage (message: DirectMessage): Uint8Array {
  return encoder.encode(JSON.stringify({ envelope: message.envelope, attachments: message.attachments ?? [], ...(message.head === undefined ? {} : { head: message.head }) }))
}

function invalid (message: string): never {
  throw new MeshError('INVALID_MESSAGE', message)
}

/**
 * How long after its expiry a direct message is refused as late rather than invalid: it may have
 * waited in transit or in the sender's retries, or the two clocks may differ. Only a message older
 * than that is abuse (a replay), and costs its sender.
 */
export const LATE_ALLOWANCE_MS = 5 * 60_000

/**
 * Whether the sender passes on another's message about a deal it is a party of, with that deal,
 * signed by both parties, attached: a provider brings the job creator's challenge to the mediator
 * it names, since a creator may challenge and tell no one.
 */
function passedOnByParty (verified: Verified, attachments: Verified[], address: string): boolean {
  const dealId = (verified.message as { dealId?: unknown }).dealId
  return typeof dealId === 'string' &&
    attachments.some(a => a.type === 'Deal' && a.id === dealId && a.signers.length === 2 && a.signers.includes(address))
}

/**
 * Decodes and verifies a direct frame. A Deal may carry only the job creator's signature (on its
 * way to the provider); everything else must be fully signed, unexpired at `now`, and signed by
 * the sending peer, or passed on by a party of the deal it concerns (`passedOnByParty`).
 */
export function decodeDirectMessage (domain: LilypadDomain, frame: Uint8Array, peer: PeerId, now: number): Omit<ReceivedDirectMessage, 'protocol'> {
  let value: { envelope?: unknown, attachments?: unknown, head?: unknown }
  let text: string
  try {
    text = decoder.decode(frame)
  } catch {
    invalid('frame is not UTF-8 JSON')
  }
  if (nestsDeeperThan(text, MAX_WIRE_DEPTH)) invalid(`frame is nested deeper than ${MAX_WIRE_DEPTH} levels`)
  try {
    value = JSON.parse(text)
  } catch {
    invalid('frame is not UTF-8 JSON')
  }
  if (value === null || typeof value !== 'object') invalid('frame is not an object')
  const attachments = value.attachments ?? []
  if (!Array.isArray(attachments) || attachments.length > MAX_ATTACHMENTS) invalid(`attachments must be an array of at most ${MAX_ATTACHMENTS}`)
  const check = (envelope: unknown, what: string, options: { partial?: boolean, now?: number }): Verified => {
    const type = (envelope as { type?: unknown } | null)?.type
    const size = encoder.encode(JSON.stringify(envelope)).byteLength
    if (typeof type === 'string' && type in MAX_ENCODED_SIZE && size > MAX_ENCODED_SIZE[type as keyof typeof MAX_ENCODED_SIZE]) {
      invalid(`${what} ${type} of ${size} bytes is oversized`)
    }
    try {
      return verifyEnvelope(domain, envelope, options)
    } catch (err) {
      // expired: late, told apart by its code, not invalid (see LATE_ALLOWANCE_MS)
      if (isMessageError(err, 'EXPIRED')) throw new MeshError('EXPIRED_MESSAGE', `${what}: ${err.message}`)
      if (isMessageError(err)) invalid(`${what}: ${err.message}`)
      throw err
    }
  }
  // a Deal is judged against its delivery grace: its expiry is the agree deadline, and the
  // provider's co-signature may arrive just after it (the machines hold their own deadlines)
  const type = (value.envelope as { type?: unknown } | null)?.type
  const at = type === 'Deal' ? now - DEAL_DELIVERY_GRACE_MS : now
  let verified: Verified
  try {
    verified = check(value.envelope, 'envelope', { partial: true, now: at })
  } catch (err) {
    // expired by a little: late, not invalid; by much more: a replay
    if (!isMeshError(err, 'EXPIRED_MESSAGE')) throw err
    try {
      check(value.envelope, 'envelope', { partial: true, now: at - LATE_ALLOWANCE_MS })
    } catch (older) {
      if (isMeshError(older, 'EXPIRED_MESSAGE')) invalid(older.message.replace(/^EXPIRED_MESSAGE: /, ''))
      throw older
    }
    throw err
  }
  const address = addressOfPeer(peer)
  const checked = attachments.map((a, i) => check(a, `attachment ${i}`, { partial: true }))
  if (address === undefined || !(verified.signers.includes(address) || passedOnByParty(verified, checked, address))) {
    invalid(`${verified.type} ${verified.id} was sent by ${address ?? peer.toString()}, who did not sign it nor the deal it concerns`)
  }
  const head = value.head
  if (head !== undefined) {
    if (!isSignedHead(head)) invalid('the log head is not a signed head (seq, hash, signer, signature)')
    const signer = headSigner(head)
    if (signer === undefined || signer.toLowerCase() !== address.toLowerCase() || head.signer.toLowerCase() !== address.toLowerCase()) {
      invalid(`the log head is not signed by the sending peer ${address}`)
    }
  }
  return {
    peer,
    address,
    verified,
    attachments: checked,
    envelope: verified.envelope,
    attachmentEnvelopes: checked.map(a => a.envelope),
    ...(head === undefined ? {} : { head })
  }
}
