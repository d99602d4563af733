/** Lower-case hex text of bytes, written in one piece. */

const DIGITS = new TextEncoder().encode('0123456789abcdef')

/**
 * `0x` and the bytes in lower-case hex, as one flat string. Text joined piece by piece (as a loop of
 * `+=` does) is a rope that every later comparison or lookup must first copy into one piece, and
 * every message id is such a text, compared and looked up many times.
 */
export function hex0x (bytes: Uint8Array): string {
  const out = Buffer.allocUnsafe(2 + 2 * bytes.length)
  out[0] = 0x30 // '0'
  out[1] = 0x78 // 'x'
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number
    out[2 + 2 * i] = DIGITS[b >> 4] as number
    out[3 + 2 * i] = DIGITS[b & 15] as number
  }
  return out.toString('latin1')
}
