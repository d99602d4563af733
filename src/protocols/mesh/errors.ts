/**
 * Errors of the mesh layer. Callers compare `code` (stable), never the message text.
 *
 * A gossip validator throws `GossipValidationError` tagged with what gossipsub must do:
 * REJECT for provably bad data (the sending peer is penalised), IGNORE for duplicates, stale
 * messages and references the node does not know yet (nobody is penalised).
 */
export type GossipAction = 'IGNORE' | 'REJECT'

export const GOSSIP_ERROR_CODES = [
  'OVERSIZED', // larger than the type's cap
  'MALFORMED', // not UTF-8 JSON, or not an envelope
  'WRONG_TOPIC', // a message type that does not belong on this topic
  'INVALID_SCHEMA',
  'BAD_SIGNATURE',
  'NON_CANONICAL', // valid content in a non-canonical encoding: a malleated copy
  'WRONG_AUTHOR', // author not allowed on this topic, or not the peer that published it
  'UNSIGNED', // a gossip message without a libp2p publisher (StrictSign is required)
  'EXPIRED',
  'DUPLICATE',
  'SUPERSEDED', // an older nonce of something the node already holds
  'TAKEN', // an offer a deal the node knows has already taken
  'UNKNOWN_REFERENCE', // refers to a deal the node does not know (yet)
  'INCONSISTENT', // contradicts signed messages the node holds
  'FULL', // an offer the node has no room for: its author holds its share, or the whole is full of others' fair shares
  'THROTTLED', // the peer that passed it on passed on more new offers than it may in a while
  'UNFUNDED', // an offer whose author's escrow does not hold the collateral it offers to lock
  'QUEUE_FULL', // dropped unvalidated because the validation queue was full
  'INTERNAL' // an error the validators did not expect: our bug, never the peer's fault
] as const

export type GossipErrorCode = typeof GOSSIP_ERROR_CODES[number]

export class GossipValidationError extends Error {
  override readonly name = 'GossipValidationError'
  constructor (readonly action: GossipAction, readonly code: GossipErrorCode, message: string) {
    super(`${action} ${code}: ${message}`)
  }
}

export function reject (code: GossipErrorCode, message: string): never {
  throw new GossipValidationError('REJECT', code, message)
}

export function ignore (code: GossipErrorCode, message: string): never {
  throw new GossipValidationError('IGNORE', code, message)
}

export function isGossipValidationError (err: unknown): err is GossipValidationError {
  return err instanceof Error && err.name === 'GossipValidationError'
}

export const MESH_ERROR_CODES = [
  'FRAME_TOO_LARGE',
  'TIMEOUT',
  'RATE_LIMITED',
  'PROTOCOL_ERROR', // the remote broke the framing or answered nonsense
  'REMOTE_ERROR', // the remote answered with an error frame
  'INVALID_MESSAGE', // a direct message failed verification
  'EXPIRED_MESSAGE', // a direct message expired in transit or by clock skew: refused, no proof of malice
  'UNKNOWN_TOPIC',
  'NOT_STARTED',
  'BAD_OPTIONS'
] as const

export type MeshErrorCode = typeof MESH_ERROR_CODES[number]

export class MeshError extends Error {
  override readonly name = 'MeshError'
  constructor (readonly code: MeshErrorCode, message: string, readonly details?: Record<string, unknown>) {
    super(`${code}: ${message}`)
  }
}

export function isMeshError (err: unknown, code?: MeshErrorCode): err is MeshError {
  return err instanceof Error && err.name === 'MeshError' && (code === undefined || (err as MeshError).code === code)
}
