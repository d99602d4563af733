/**
 * libp2p's secp256k1 signature checks by libsecp256k1 (WebAssembly, through tiny-secp256k1, which
 * the envelope's signer recovery uses already) instead of @noble/curves in JavaScript: about 0.25 ms
 * a check instead of 1.8 ms on a 2-core machine. Gossipsub checks one such signature per message
 * delivered (StrictSign: the publisher's signature over `from`, seqno, topic and data), and noise
 * one per connection.
 *
 * Gossipsub takes no verifier: it calls `verify` on the public-key objects @libp2p/crypto builds
 * from each message, whose class is not exported. So the one way in, short of editing
 * node_modules, is that class's `verify` method, replaced once per process through the prototype of
 * a key of the class. Only the curve arithmetic moves: a signature is checked by libsecp256k1 only
 * when it is canonical DER with r and s below the group order (which is what libp2p signers write),
 * and a high s is refused as noble refuses it; any other input goes to the original method, so it
 * gets exactly the answer (or error) it got before. A test compares the two on valid, tampered,
 * high-s and malformed signatures.
 */
import { createHash } from 'node:crypto'
import type { AbortOptions, PublicKey, Secp256k1PublicKey } from '@libp2p/interface'
import { verify as libsecp256k1Verify } from 'tiny-secp256k1'

type Verify = (this: Secp256k1PublicKey, data: Uint8Array | Iterable<Uint8Array>, sig: Uint8Array, options?: AbortOptions) => boolean | Promise<boolean>

const replaced = new WeakSet<object>()

/**
 * r and s, 32 bytes each, of a DER signature in its one canonical encoding (minimal lengths, no
 * needless zero byte, positive integers); undefined for anything else.
 */
export function compactFromDer (der: Uint8Array): Uint8Array | undefined {
  if (der.length < 8 || der.length > 72 || der[0] !== 0x30 || der[1] !== der.length - 2) return undefined
  const compact = new Uint8Array(64)
  let at = 2
  for (const offset of [0, 32]) {
    const length = der[at + 1] ?? 0
    const start = at + 2
    const end = start + length
    if (der[at] !== 0x02 || length === 0 || end > der.length) return undefined
    const first = der[start] as number
    if (first >= 0x80) return undefined
    if (first === 0 && (length === 1 || (der[start + 1] as number) < 0x80)) return undefined
    const value = der.subarray(first === 0 ? start + 1 : start, end)
    if (value.length > 32) return undefined
    compact.set(value, offset + 32 - value.length)
    at = end
  }
  return at === der.length ? compact : undefined
}

/**
 * Replaces `verify` of the class of `key` (@libp2p/crypto's secp256k1 public key) for the whole
 * process; later calls do nothing. Other key types are left alone.
 */
export function useLibsecp256k1Verify (key: PublicKey): void {
  if (key.type !== 'secp256k1') return
  const prototype = Object.getPrototypeOf(key) as { verify?: Verify }
  const original = prototype.verify
  if (replaced.has(prototype) || typeof original !== 'function' || !Object.hasOwn(prototype, 'verify')) return
  prototype.verify = function (data, sig, options) {
    options?.signal?.throwIfAborted()
    const compact = compactFromDer(sig)
    if (compact === undefined) return original.call(this, data, sig, options)
    const hash = createHash('sha256')
    for (const chunk of data instanceof Uint8Array ? [data] : data) hash.update(chunk)
    try {
      // strict: a high s is refused, as @noble/curves' verify refuses it by default
      return libsecp256k1Verify(hash.digest(), this.raw, compact, true)
    } catch {
      // r or s not below the group order: the original decides, as it always did
      return original.call(this, data, sig, options)
    }
  }
  replaced.add(prototype)
}
