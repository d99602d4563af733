/**
 * Node identities for the simulator: one secp256k1 key per node, as on the real mesh. Keys are
 * consecutive scalars from a fixed base, so public keys follow by one point addition each (in
 * libsecp256k1) instead of a full scalar multiplication: ten thousand identities cost a fraction
 * of a second.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { getAddress, keccak256, SigningKey, toUtf8Bytes } from 'ethers'
import { pointAdd } from 'tiny-secp256k1'

export interface Identity {
  index: number
  privateKey: string
  /** uncompressed, 0x04… */
  publicKey: string
  address: string
}

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
const BASE = BigInt(keccak256(toUtf8Bytes('lilypad-sim identities'))) % (CURVE_ORDER - 1_000_000_000n) + 1n
const GENERATOR = hexToBytes(SigningKey.computePublicKey('0x' + '1'.padStart(64, '0'), false).slice(2))

export function makeIdentities (count: number): Identity[] {
  const out: Identity[] = []
  let point: Uint8Array = hexToBytes(SigningKey.computePublicKey(hex32(BASE), false).slice(2))
  for (let i = 0; i < count; i++) {
    if (i > 0) point = pointAdd(point, GENERATOR, false) as Uint8Array
    const address = getAddress('0x' + bytesToHex(keccak_256(point.subarray(1)).subarray(12)))
    // written in one piece: a hex string built byte by byte is a chain of pieces, about 2 KB a key
    out.push({ index: i, privateKey: hex32(BASE + BigInt(i)), publicKey: '0x' + Buffer.from(point).toString('hex'), address })
  }
  return out
}

function hex32 (n: bigint): string {
  return '0x' + n.toString(16).padStart(64, '0')
}
