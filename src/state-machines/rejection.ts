/** Why a machine refused an input. Refused inputs change nothing and are reported as an output. */
import { keccak256 } from '../protocols/messages/keccak.ts'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { isMessageError, type MessageErrorCode } from '../protocols/messages/errors.ts'
import type { InputEvent, MachineOutput } from './contract.ts'

export const VIOLATION_CODES = [
  'WRONG_STATE', // the message or event does not fit the current state
  'WRONG_PARTY', // signed by someone who has no say here
  'WRONG_DEAL', // about another deal, offer or proposal
  'INCONSISTENT', // its terms contradict what was agreed or offered
  'LATE', // arrived after the deadline that governs it
  'EARLY_TIMER', // a timer event before its deadline, or for a deadline not armed
  'NO_CAPACITY', // no free slot or mediation capacity
  'UNDERPAID', // pays less than this node asks for its work
  'UNTRUSTED', // from a solver or mediator not trusted
  'UNKNOWN_EVENT', // not an input this machine understands
  'UNBOUNDED', // its deadlines reach further than a deal may last
  'DUPLICATE' // already applied
] as const

export type ViolationCode = typeof VIOLATION_CODES[number]
export type RejectionCode = ViolationCode | MessageErrorCode

export class ProtocolViolation extends Error {
  override readonly name = 'ProtocolViolation'
  constructor (readonly code: ViolationCode, message: string) {
    super(`${code}: ${message}`)
  }
}

/**
 * Refuses an input. A refusal is an answer, not a fault: its stack would say nothing, and capturing
 * one cost more than the rest of the refusal (a solver's rival proposals are refused by the hundred).
 */
export function violation (code: ViolationCode, message: string): never {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  let refusal: ProtocolViolation
  try {
    refusal = new ProtocolViolation(code, message)
  } finally {
    Error.stackTraceLimit = limit
  }
  throw refusal
}

/** The handler name of the output that reports a refused input. */
export const INPUT_REJECTED = 'input.rejected'

export function rejectionCode (err: unknown): RejectionCode | undefined {
  if (err instanceof ProtocolViolation) return err.code
  if (isMessageError(err)) return err.code
  return undefined
}

/** Deterministic output for a refused input; the id is derived from the event itself. */
export function rejectedOutput (event: InputEvent, err: unknown): MachineOutput {
  const code = rejectionCode(err)
  if (code === undefined) throw err
  const envelope = event.envelope as { type?: unknown } | undefined
  return {
    type: INPUT_REJECTED,
    id: `rejected:${event.at}:${bytesToHex(keccak256(utf8ToBytes(JSON.stringify(event)))).slice(0, 16)}`,
    code,
    reason: (err as Error).message,
    eventType: event.type,
    ...(typeof envelope?.type === 'string' ? { messageType: envelope.type } : {})
  }
}
