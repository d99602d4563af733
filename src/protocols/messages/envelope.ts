/** A signed message as it travels: its type, its EIP-712 payload and its authors' signatures. */
import { z } from 'zod'
import { MESSAGE_TYPES, type MessageType } from './eip712-types.ts'
import { strictObjectPath, withFastPath } from './fast-parse.ts'
import { list, matching } from './fields.ts'
import type { MessagePayloads } from './schemas.ts'

export const signature = matching(/^0x[0-9a-fA-F]{130}$/, 'expected a 65-byte signature')

const KNOWN_TYPES: ReadonlySet<unknown> = new Set(MESSAGE_TYPES)
const envelopeFields = {
  type: withFastPath(z.enum(MESSAGE_TYPES as [MessageType, ...MessageType[]]), v => KNOWN_TYPES.has(v) ? v : undefined),
  /** one per signer, in `signersOf` order; a Deal carries the job creator's, then the provider's */
  signatures: list(signature, 2, 1)
}

/** The wire shape; `message` is checked by the type's own schema afterwards. */
export const EnvelopeSchema = z.strictObject({
  type: envelopeFields.type,
  message: z.record(z.string(), z.unknown()),
  signatures: envelopeFields.signatures
})

/** The wire shape of an envelope whose message is already known to be a checked payload of its type (see shared payloads). */
const knownPayloadShape = { type: envelopeFields.type, message: withFastPath(z.unknown(), v => v), signatures: envelopeFields.signatures }
export const KnownPayloadEnvelopeSchema = withFastPath(z.strictObject(knownPayloadShape), strictObjectPath(knownPayloadShape))

export interface Envelope<T extends MessageType = MessageType> {
  type: T
  message: MessagePayloads[T]
  signatures: string[]
}

/** A message that passed schema, signature (and, if asked, expiry) checks. */
export interface Verified<T extends MessageType = MessageType> {
  type: T
  /** the EIP-712 hash: the message id */
  id: string
  message: MessagePayloads[T]
  signers: string[]
  envelope: Envelope<T>
}

/** The addresses that must sign a message of this type, in signature order. */
export function signersOf<T extends MessageType> (type: T, message: MessagePayloads[T]): string[] {
  if (type === 'Deal') {
    const deal = message as MessagePayloads['Deal']
    return [deal.jobCreator, deal.resourceProvider]
  }
  return [(message as { author: string }).author]
}
