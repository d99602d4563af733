/** Pieces every machine shares: the domain in JSON form, message checks, timers and outputs. */
import { lilypadDomain, type LilypadDomain, type MessageType } from '../protocols/messages/eip712-types.ts'
import type { Verified } from '../protocols/messages/envelope.ts'
import type { Messages } from '../protocols/messages/signing.ts'
import type { InputEvent, Json, MachineOutput, TimerFired } from './contract.ts'
import { violation } from './rejection.ts'

/** The EIP-712 domain as JSON (chain id as a decimal string). */
export interface DomainJson {
  chainId: string
  verifyingContract: string
}

const domains = new WeakMap<DomainJson, LilypadDomain>()

/** The EIP-712 domain of a machine's context: one per context domain, so that what is memoised per domain is found again. */
export function toDomain (domain: DomainJson): LilypadDomain {
  let out = domains.get(domain)
  if (out === undefined) domains.set(domain, out = Object.freeze(lilypadDomain(BigInt(domain.chainId), domain.verifyingContract)))
  return out
}

/** The input event by which a message from a peer reaches a machine. */
export const MESSAGE_RECEIVED = 'message.received'

export interface MessageReceived extends InputEvent {
  type: 'message.received'
  /** an Envelope, unchecked until a machine verifies it */
  envelope: Json
  /** signed messages the sender attached as context (e.g. the offers behind a proposal) */
  attachments?: Json[]
}

export function isMessageEvent (event: InputEvent): event is MessageReceived {
  return event.type === MESSAGE_RECEIVED && typeof event.envelope === 'object' && event.envelope !== null
}

/**
 * Verifies a message of an expected type with the messages object the machine was built with;
 * throws MessageError or ProtocolViolation.
 */
export function expectMessage<T extends MessageType> (
  messages: Messages, domain: DomainJson, envelope: unknown, type: T, at: number, options: { partial?: boolean, ignoreExpiry?: boolean } = {}
): Verified<T> {
  const actual = (envelope as { type?: unknown } | null)?.type
  if (actual !== type) violation('WRONG_STATE', `expected a ${type}, got ${String(actual)}`)
  return messages.verify(toDomain(domain), envelope, { partial: options.partial, now: options.ignoreExpiry === true ? undefined : at }) as Verified<T>
}

/** The attachment of a given type, verified (expiry not checked: offers may expire once matched). */
export function expectAttachment<T extends MessageType> (messages: Messages, domain: DomainJson, event: MessageReceived, type: T): Verified<T> {
  const found = (event.attachments ?? []).find(a => (a as { type?: unknown }).type === type)
  if (found === undefined) violation('INCONSISTENT', `a ${type} must be attached`)
  return expectMessage(messages, domain, found, type, event.at, { ignoreExpiry: true })
}

export function sameAddress (a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

/** The same strings in the same order. */
export function sameList (a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export function includesAddress (list: readonly string[], a: string): boolean {
  return list.some(x => sameAddress(x, a))
}

/** Checks a timer event against the armed deadlines; returns the timer's name. */
export function expectTimer (deadlines: Record<string, number> | undefined, event: InputEvent, name?: string): string {
  const timer = (event as TimerFired).timer
  if (typeof timer !== 'string') violation('UNKNOWN_EVENT', 'timer.fired without a timer name')
  if (name !== undefined && timer !== name) violation('EARLY_TIMER', `timer ${timer} is not armed here`)
  const due = deadlines?.[timer]
  if (due === undefined) violation('EARLY_TIMER', `timer ${timer} is not armed`)
  if (event.at < due) violation('EARLY_TIMER', `timer ${timer} fired at ${event.at}, before its deadline ${due}`)
  return timer
}

/** A signed message to send: the runtime signs it as `message.author` (or co-signs a Deal) and delivers it. */
export function sendOutput (id: string, messageType: MessageType, message: object, to: string[], extra: Record<string, unknown> = {}): MachineOutput {
  return { type: 'message.send', id, messageType, message: message as MachineOutput[string], to, ...extra } as MachineOutput
}

export function publishOutput (id: string, messageType: MessageType, message: object, topic: string): MachineOutput {
  return { type: 'message.publish', id, messageType, message: message as MachineOutput[string], topic } as MachineOutput
}

/**
 * `base` with the fields of `extra` added: what `{ ...base, ...extra }` makes, without its cost
 * where `extra` names fields `base` lacks. For such a spread, V8 (as in Node 20) makes each
 * object a hidden class of its own, about 2 us and a few hundred bytes of its old space each.
 */
export function extended<A extends object, B extends object> (base: A, extra: B): A & B {
  return Object.assign({}, base, extra)
}

/** Plain JSON copy (drops undefined, fails loudly on bigint): context must persist as JSON. */
export function json<T> (value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}
