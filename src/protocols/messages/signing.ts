/**
 * EIP-712 ids, signatures and verification. Pure: keys and time are arguments.
 * Hashing and recovery take the fast paths of eip712-hash.ts and recover-signer.ts, each equal to
 * ethers' result (ethers' TypedDataEncoder and recoverAddress), at a fraction of the cost: every
 * node checks every gossiped message.
 */
import { getAddress, type Wallet } from 'ethers'
import { hashTypedMessage } from './eip712-hash.ts'
import type { LilypadDomain, MessageType } from './eip712-types.ts'
import { EnvelopeSchema, signersOf, type Envelope, type Verified } from './envelope.ts'
import { MessageError } from './errors.ts'
import { BoundedMemo, jsonKey } from './memo.ts'
import { recoverSigner } from './recover-signer.ts'
import { MESSAGE_SCHEMAS, type MessagePayloads } from './schemas.ts'

const MEMO_LIMIT = 4096
/** `domain|type|JSON of the message` → its id */
const ids = new BoundedMemo<string>(MEMO_LIMIT)
/** `type|JSON of a valid payload` → JSON of the normalised payload */
const payloads = new BoundedMemo<string>(MEMO_LIMIT)
const verified = new BoundedMemo<Verified>(MEMO_LIMIT)

/**
 * Sets how many messages each memo holds (4096 unless set); returns the previous limit. A node
 * sees its own traffic; a simulation of thousands of nodes in one process sees all of theirs.
 */
export function setMessageMemoLimit (limit: number): number {
  const previous = ids.limit
  for (const memo of [ids, payloads, verified]) memo.limit = limit
  return previous
}

/** The message id: its EIP-712 hash under the domain. */
export function messageId<T extends MessageType> (domain: LilypadDomain, type: T, message: MessagePayloads[T]): string {
  return idOf(domain, type, message, jsonKey(message))
}

/** Validates a payload against its type's schema; returns the normalised payload (a new object). */
export function parsePayload<T extends MessageType> (type: T, message: unknown): MessagePayloads[T] {
  return normalise(type, message).payload
}

/** A payload validated and normalised, with its id: what signing and verifying a message both need. */
export function checkedPayload<T extends MessageType> (domain: LilypadDomain, type: T, message: unknown): { payload: MessagePayloads[T], id: string } {
  const { payload, json } = normalise(type, message)
  return { payload, id: idOf(domain, type, payload, json) }
}

function idOf (domain: LilypadDomain, type: MessageType, message: object, json: string | undefined): string {
  if (json === undefined) return hashTypedMessage(domain, type, message)
  const key = `${domain.name}|${domain.version}|${domain.chainId}|${domain.verifyingContract}|${String(domain.salt)}|${type}|${json}`
  let id = ids.get(key)
  if (id === undefined) ids.set(key, id = hashTypedMessage(domain, type, message))
  return id
}

/** The normalised payload and its JSON text. */
function normalise<T extends MessageType> (type: T, message: unknown): { payload: MessagePayloads[T], json: string | undefined } {
  const input = jsonKey(message)
  const key = input === undefined ? undefined : `${type}|${input}`
  const known = key === undefined ? undefined : payloads.get(key)
  if (known !== undefined) return { payload: JSON.parse(known) as MessagePayloads[T], json: known }
  const schema = MESSAGE_SCHEMAS[type]
  if (schema === undefined) throw new MessageError('UNKNOWN_TYPE', `unknown message type ${String(type)}`)
  const parsed = schema.safeParse(message)
  if (!parsed.success) {
    const first = parsed.error.issues[0]
    throw new MessageError('INVALID_SCHEMA', `${type}.${first?.path.join('.') ?? ''}: ${first?.message ?? 'invalid'}`,
      { issues: parsed.error.issues.map(i => ({ path: i.path.join('.'), message: i.message })) })
  }
  const json = jsonKey(parsed.data)
  if (json !== undefined) {
    if (key !== undefined) payloads.set(key, json)
    // the normalised payload is what gets parsed next (by the signer, by receivers)
    if (json !== input) payloads.set(`${type}|${json}`, json)
  }
  return { payload: parsed.data as MessagePayloads[T], json }
}

/** Signs a payload with one key (synchronously; the key never leaves the caller). */
export function signPayload<T extends MessageType> (wallet: Pick<Wallet, 'signingKey'>, domain: LilypadDomain, type: T, message: MessagePayloads[T]): string {
  return wallet.signingKey.sign(messageId(domain, type, message)).serialized
}

/** Builds a signed envelope. For a Deal, pass the co-signature already collected (if any). */
export function signMessage<T extends MessageType> (
  wallet: Pick<Wallet, 'signingKey' | 'address'>, domain: LilypadDomain, type: T, message: MessagePayloads[T], existing: string[] = []
): Envelope<T> {
  const { payload, id } = checkedPayload(domain, type, message)
  const signers = signersOf(type, payload)
  const index = signers.findIndex(s => s === wallet.address)
  if (index < 0) throw new MessageError('WRONG_SIGNER', `${wallet.address} is not an author of this ${type}`)
  const signatures = signers.map((_, i) => i === index ? wallet.signingKey.sign(id).serialized : existing[i])
  while (signatures.length > 0 && signatures[signatures.length - 1] === undefined) signatures.pop()
  if (signatures.includes(undefined)) throw new MessageError('MISSING_SIGNATURE', `${type} must be signed by ${signers[0]} first`)
  return { type, message: payload, signatures: signatures as string[] }
}

export interface VerifyOptions {
  /** if set, a message whose expiry is before this time (ms) is rejected */
  now?: number
  /** accept a Deal carrying only the job creator's signature (a deal on its way to the provider) */
  partial?: boolean
}

/**
 * Checks an envelope: shape, schema, every required signature, and expiry. Throws MessageError.
 * Deterministic, so results are memoised by content (a replay verifies each message once).
 */
export function verifyEnvelope (domain: LilypadDomain, envelope: unknown, options: VerifyOptions = {}): Verified {
  const key = `${domain.chainId}:${domain.verifyingContract}:${options.partial === true ? 'p' : 'f'}:${JSON.stringify(envelope)}`
  let result = verified.get(key)
  if (result === undefined) verified.set(key, result = verifyUncached(domain, envelope, options.partial === true))
  if (options.now !== undefined && (result.message as { expiry: number }).expiry < options.now) {
    throw new MessageError('EXPIRED', `${result.type} ${result.id} expired at ${(result.message as { expiry: number }).expiry}`)
  }
  return result
}

function verifyUncached (domain: LilypadDomain, envelope: unknown, partial: boolean): Verified {
  const shape = EnvelopeSchema.safeParse(envelope)
  if (!shape.success) {
    const first = shape.error.issues[0]
    const code = first?.path[0] === 'signatures' ? 'MISSING_SIGNATURE' : first?.path[0] === 'type' ? 'UNKNOWN_TYPE' : 'INVALID_SCHEMA'
    throw new MessageError(code, `envelope.${first?.path.join('.') ?? ''}: ${first?.message ?? 'invalid'}`)
  }
  const { type, signatures } = shape.data
  const { payload: message, id } = checkedPayload(domain, type, shape.data.message)
  const required = signersOf(type, message)
  const needed = partial && type === 'Deal' ? 1 : required.length
  if (signatures.length < needed || signatures.length > required.length) {
    throw new MessageError('MISSING_SIGNATURE', `${type} needs ${required.length} signature(s), has ${signatures.length}`)
  }
  const signers = signatures.map((sig, i) => {
    let recovered: string
    try {
      recovered = recoverSigner(id, sig)
    } catch {
      throw new MessageError('BAD_SIGNATURE', `signature ${i} of ${type} ${id} is malformed`)
    }
    const expected = required[i] as string // checksummed by the schema
    if (recovered !== expected.toLowerCase()) {
      throw new MessageError('WRONG_SIGNER', `${type} ${id} signature ${i} is by ${getAddress(recovered)}, expected ${expected}`)
    }
    return expected
  })
  return { type, id, message, signers, envelope: { type, message, signatures } as Envelope }
}
