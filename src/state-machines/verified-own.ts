/** A node's own message as a Verified value (it knows its id and content; the runtime signs it). */
import type { MessageType } from '../protocols/messages/eip712-types.ts'
import type { Envelope, Verified } from '../protocols/messages/envelope.ts'
import type { MessagePayloads } from '../protocols/messages/schemas.ts'
import type { Messages } from '../protocols/messages/signing.ts'
import { toDomain, type DomainJson } from './common.ts'

export function ownMessage<T extends MessageType> (messages: Messages, domain: DomainJson, type: T, message: MessagePayloads[T]): Verified<T> {
  const { payload, id } = messages.checked(toDomain(domain), type, message)
  return ownVerified(type, id, payload)
}

/** One of its own messages that `ownMessage` built and checked before, under the id it gave then. */
export function ownVerified<T extends MessageType> (type: T, id: string, payload: MessagePayloads[T]): Verified<T> {
  const author = (payload as { author?: string }).author ?? ''
  return { type, id, message: payload, signers: [author], envelope: { type, message: payload, signatures: [] } as Envelope<T> }
}
