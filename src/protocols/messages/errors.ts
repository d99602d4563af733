/** Errors of the message layer. Callers compare `code` (stable), never the message text. */
export const MESSAGE_ERROR_CODES = [
  'UNKNOWN_TYPE',
  'INVALID_SCHEMA',
  'OVERSIZED',
  'MALFORMED_ENCODING',
  'BAD_SIGNATURE',
  'WRONG_SIGNER',
  'MISSING_SIGNATURE',
  'EXPIRED',
  'ID_MISMATCH'
] as const

export type MessageErrorCode = typeof MESSAGE_ERROR_CODES[number]

export class MessageError extends Error {
  override readonly name = 'MessageError'
  constructor (readonly code: MessageErrorCode, message: string, readonly details?: Record<string, unknown>) {
    super(`${code}: ${message}`)
  }
}

export function isMessageError (err: unknown, code?: MessageErrorCode): err is MessageError {
  return err instanceof Error && err.name === 'MessageError' &&
    (code === undefined || (err as MessageError).code === code)
}
