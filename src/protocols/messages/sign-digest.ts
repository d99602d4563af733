/**
 * Signs a 32-byte digest with a secp256k1 key by libsecp256k1 (compiled to WebAssembly, through
 * tiny-secp256k1): the very signature ethers' `SigningKey.sign(digest).serialized` gives (RFC 6979
 * nonces, low s, v of 27 or 28; a test compares the two), in a third of the time. A node signs
 * every message it sends, its log's checkpoints and the head each direct message carries.
 */
import type { SigningKey } from 'ethers'
import { hexToBytes } from '@noble/hashes/utils.js'
import { signRecoverable } from 'tiny-secp256k1'
import { hex0x } from './hex.ts'

/** The signature (0x + r, s and v as hex) of `digest` (0x hex, 32 bytes) under `key`. */
export function signDigest (key: Pick<SigningKey, 'privateKey'>, digest: string): string {
  const { signature, recoveryId } = signRecoverable(hexToBytes(digest.replace(/^0x/, '')), hexToBytes(key.privateKey.slice(2)))
  return `${hex0x(signature)}${(27 + recoveryId).toString(16)}`
}
