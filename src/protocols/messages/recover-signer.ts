/**
 * Who signed a digest: secp256k1 public-key recovery by libsecp256k1 (compiled to WebAssembly,
 * through tiny-secp256k1), about ten times faster than the pure-JS curve code ethers uses, with
 * exactly the acceptance rules of ethers' `recoverAddress(digest, Signature.from(sig))` for a
 * 65-byte signature (a test compares the two on valid, tampered and random signatures):
 * - `v` (the last byte) is 27 or 28, 0 or 1, or an EIP-155 value of 35 or more (odd means 27);
 * - `s` has its top bit clear (ethers' canonical-s check), and r and s lie in [1, n);
 * - r is the x coordinate of a curve point, and the recovered key is not the point at infinity.
 * High-s signatures below 2^255 are accepted, as ethers accepts them.
 */
import { hex0x } from './hex.ts'
import { keccak256 } from './keccak.ts'
import { hexToBytes } from '@noble/hashes/utils.js'
import { recover } from 'tiny-secp256k1'

export class SignatureFormatError extends Error {
  override readonly name = 'SignatureFormatError'
}

const SIGNATURE_HEX = /^0x[0-9a-fA-F]{130}$/

function recoveryBit (v: number): 0 | 1 {
  if (v === 0 || v === 27) return 0
  if (v === 1 || v === 28) return 1
  if (v >= 35) return v % 2 === 1 ? 0 : 1
  throw new SignatureFormatError(`invalid v ${v}`)
}

/**
 * The address (lower-case 0x hex) whose key made `signature` (0x + 65 bytes hex: r, s, v) over the
 * 32-byte `digest` (0x hex). Throws SignatureFormatError for a signature from which no key can be
 * recovered.
 */
export function recoverSigner (digest: string, signature: string): string {
  if (!SIGNATURE_HEX.test(signature)) throw new SignatureFormatError('expected 0x and 65 bytes of hex')
  const bytes = hexToBytes(signature.slice(2))
  if (((bytes[32] as number) & 0x80) !== 0) throw new SignatureFormatError('non-canonical s')
  const bit = recoveryBit(bytes[64] as number)
  let publicKey: Uint8Array | null
  try {
    publicKey = recover(hexToBytes(digest.replace(/^0x/, '')), bytes.subarray(0, 64), bit, false)
  } catch (err) {
    throw new SignatureFormatError(err instanceof Error ? err.message : String(err))
  }
  if (publicKey === null) throw new SignatureFormatError('no key recovers from this signature')
  return hex0x(keccak256(publicKey.subarray(1)).subarray(12))
}
