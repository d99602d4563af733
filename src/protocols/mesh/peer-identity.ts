/**
 * One secp256k1 key is both the node's Ethereum account and its libp2p identity (DESIGN §4), so
 * the address that signed a message and the peer that sent it can be compared directly.
 */
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { computeAddress, getBytes, hexlify } from 'ethers'
import { MeshError } from './errors.ts'

/** The libp2p private key for a 0x-prefixed 32-byte secp256k1 key (as loaded by the node key). */
export function libp2pPrivateKey (privateKeyHex: string): PrivateKey {
  let raw: Uint8Array
  try {
    raw = getBytes(privateKeyHex)
  } catch {
    throw new MeshError('BAD_OPTIONS', 'privateKey must be 0x-prefixed hex')
  }
  if (raw.byteLength !== 32) throw new MeshError('BAD_OPTIONS', `privateKey must be 32 bytes, got ${raw.byteLength}`)
  const key = privateKeyFromRaw(raw)
  if (key.type !== 'secp256k1') throw new MeshError('BAD_OPTIONS', `expected a secp256k1 key, got ${key.type}`)
  return key
}

export function peerIdOfKey (privateKeyHex: string): PeerId {
  return peerIdFromPrivateKey(libp2pPrivateKey(privateKeyHex))
}

const addresses = new Map<string, string | undefined>()
const ADDRESS_CACHE_LIMIT = 10_000

/** The Ethereum address of a secp256k1 peer id; undefined for any other key type. */
export function addressOfPeer (peer: PeerId): string | undefined {
  const key = peer.toString()
  if (addresses.has(key)) return addresses.get(key)
  let address: string | undefined
  if (peer.type === 'secp256k1' && peer.publicKey !== undefined) {
    address = computeAddress(hexlify(peer.publicKey.raw))
  }
  if (addresses.size >= ADDRESS_CACHE_LIMIT) addresses.delete(addresses.keys().next().value as string)
  addresses.set(key, address)
  return address
}
