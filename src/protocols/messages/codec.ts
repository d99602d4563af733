/** Bytes on the wire: UTF-8 JSON of an envelope, with a maximum size per message type. */
import type { LilypadDomain, MessageType } from './eip712-types.ts'
import type { Envelope, Verified } from './envelope.ts'
import { MessageError } from './errors.ts'
import { MAX_WIRE_DEPTH, nestsDeeperThan } from './json-depth.ts'
import { verifyEnvelope, type VerifyOptions } from './signing.ts'

export const MAX_ENCODED_SIZE: Record<MessageType, number> = {
  ResourceOffer: 24 * 1024,
  JobOffer: 24 * 1024,
  MatchProposal: 4 * 1024,
  Deal: 4 * 1024,
  ResultsSubmitted: 2 * 1024,
  ResultsAccepted: 2 * 1024,
  ResultsChallenged: 2 * 1024,
  MediationVerdict: 2 * 1024,
  MediatorAnnouncement: 8 * 1024
}
export const MAX_MESSAGE_SIZE = Math.max(...Object.values(MAX_ENCODED_SIZE))

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeEnvelope (envelope: Envelope): Uint8Array {
  const bytes = encoder.encode(JSON.stringify({ type: envelope.type, message: envelope.message, signatures: envelope.signatures }))
  const max = MAX_ENCODED_SIZE[envelope.type]
  if (bytes.byteLength > max) throw new MessageError('OVERSIZED', `${envelope.type} is ${bytes.byteLength} bytes, the limit is ${max}`)
  return bytes
}

/** Parses bytes into an envelope without checking its signatures (size, UTF-8 and JSON only). */
export function decodeEnvelope (bytes: Uint8Array): unknown {
  if (bytes.byteLength > MAX_MESSAGE_SIZE) throw new MessageError('OVERSIZED', `${bytes.byteLength} bytes exceeds ${MAX_MESSAGE_SIZE}`)
  let text: string
  let value: unknown
  try {
    text = decoder.decode(bytes)
    if (nestsDeeperThan(text, MAX_WIRE_DEPTH)) throw new MessageError('MALFORMED_ENCODING', `nested deeper than ${MAX_WIRE_DEPTH} levels`)
    value = JSON.parse(text)
  } catch (err) {
    if (err instanceof MessageError) throw err
    throw new MessageError('MALFORMED_ENCODING', 'not UTF-8 JSON')
  }
  const type = (value as { type?: unknown } | null)?.type
  if (typeof type !== 'string' || !(type in MAX_ENCODED_SIZE)) throw new MessageError('UNKNOWN_TYPE', `unknown message type ${String(type)}`)
  const max = MAX_ENCODED_SIZE[type as MessageType]
  if (bytes.byteLength > max) throw new MessageError('OVERSIZED', `${type} is ${bytes.byteLength} bytes, the limit is ${max}`)
  return value
}

/** Everything a receiver checks before a message becomes an event. */
export function decodeAndVerify (domain: LilypadDomain, bytes: Uint8Array, options: VerifyOptions = {}): Verified {
  return verifyEnvelope(domain, decodeEnvelope(bytes), options)
}
