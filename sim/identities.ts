/**
 * Node identities for the simulator: one secp256k1 key per node, as on the real mesh. Keys are
 * consecutive scalars from a fixed base, so public keys follow by one point addition each instead of
 * a full scalar multiplication: ten thousand identities cost well under a second.
 */
import { computeAddress, keccak256, SigningKey, toUtf8Bytes } from 'ethers'

export interface Identity {
  index: number
  privateKey: string
  /** uncompressed, 0x04… */
  publicKey: string
  address: string
}

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const BASE = BigInt(keccak256(toUtf8Bytes('lilypad-sim identities'))) % (CURVE_ORDER - 1_000_000_000n) + 1n
const GENERATOR = SigningKey.computePublicKey('0x' + '1'.padStart(64, '0'), false)

export function makeIdentities (count: number): Identity[] {
  const out: Identity[] = []
  let publicKey = SigningKey.computePublicKey(hex32(BASE), false)
  for (let i = 0; i < count; i++) {
    if (i > 0) publicKey = SigningKey.addPoints(publicKey, GENERATOR, false)
    out.push({ index: i, privateKey: hex32(BASE + BigInt(i)), publicKey, address: computeAddress(publicKey) })
  }
  return out
}

function hex32 (n: bigint): string {
  return '0x' + n.toString(16).padStart(64, '0')
}
