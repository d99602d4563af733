import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { compactFromDer, useLibsecp256k1Verify } from '../../../src/protocols/mesh/secp256k1-verify.ts'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

function key (n: number): PrivateKey {
  return privateKeyFromRaw(Uint8Array.from(Buffer.from((n + 1).toString(16).padStart(64, '0'), 'hex')))
}

function derInteger (value: bigint): number[] {
  let hex = value.toString(16)
  if (hex.length % 2 === 1) hex = '0' + hex
  const bytes = [...Buffer.from(hex, 'hex')]
  if ((bytes[0] as number) >= 0x80) bytes.unshift(0)
  return [0x02, bytes.length, ...bytes]
}

function der (r: bigint, s: bigint): Uint8Array {
  const body = [...derInteger(r), ...derInteger(s)]
  return Uint8Array.from([0x30, body.length, ...body])
}

function rs (sig: Uint8Array): { r: bigint, s: bigint } {
  const compact = compactFromDer(sig) as Uint8Array
  return { r: BigInt('0x' + Buffer.from(compact.subarray(0, 32)).toString('hex')), s: BigInt('0x' + Buffer.from(compact.subarray(32)).toString('hex')) }
}

// the original (@noble/curves) method, taken before it is replaced
const keys = Array.from({ length: 8 }, (_, i) => key(i))
const prototype = Object.getPrototypeOf(keys[0]!.publicKey) as { verify: (this: unknown, data: Uint8Array, sig: Uint8Array) => boolean }
const original = prototype.verify
useLibsecp256k1Verify(keys[0]!.publicKey)

type Outcome = boolean | 'throws'

function outcome (verify: () => boolean | Promise<boolean>): Outcome {
  try {
    return verify() as boolean
  } catch {
    return 'throws'
  }
}

/** The replaced method's answer, and the original's, on the same input. */
function both (k: PrivateKey, data: Uint8Array, sig: Uint8Array): [Outcome, Outcome] {
  return [outcome(() => k.publicKey.verify(data, sig)), outcome(() => original.call(k.publicKey, data, sig))]
}

describe('libp2p secp256k1 signatures checked by libsecp256k1', () => {
  it('replaces the method once', () => {
    expect(prototype.verify).not.toBe(original)
    const replaced = prototype.verify
    useLibsecp256k1Verify(keys[1]!.publicKey)
    expect(prototype.verify).toBe(replaced)
  })

  it('accepts what libp2p signs and refuses it under another key or for other data', () => {
    for (let i = 0; i < 24; i++) {
      const k = keys[i % keys.length]!
      const data = Uint8Array.from(Buffer.from(`libp2p-pubsub:message ${i}`))
      const sig = k.sign(data) as Uint8Array
      expect(both(k, data, sig)).toEqual([true, true])
      const other = keys[(i + 1) % keys.length]!
      expect(both(other, data, sig)).toEqual([false, false])
      const tampered = data.slice()
      tampered[i % tampered.length]! ^= 1
      expect(both(k, tampered, sig)).toEqual([false, false])
    }
  })

  it('hashes data given in chunks as the original does', () => {
    const k = keys[2]!
    const data = Uint8Array.from(Buffer.from('one message in three chunks'))
    const sig = k.sign(data) as Uint8Array
    const chunks = [data.subarray(0, 3), data.subarray(3, 10), data.subarray(10)] as unknown as Uint8Array
    expect(both(k, chunks, sig)).toEqual([true, true])
  })

  it('refuses a high s, as the original does', () => {
    const k = keys[3]!
    const data = Uint8Array.from(Buffer.from('malleable'))
    const { r, s } = rs(k.sign(data) as Uint8Array)
    expect(both(k, data, der(r, N - s))).toEqual([false, false])
  })

  it('gives the original answer on malformed, non-canonical and out-of-range signatures', () => {
    const k = keys[4]!
    const data = Uint8Array.from(Buffer.from('edge cases'))
    const sig = k.sign(data) as Uint8Array
    const { r, s } = rs(sig)
    const padded = Uint8Array.from([0x30, sig[1]! + 1, 0x02, sig[3]! + 1, 0x00, ...sig.subarray(4)])
    const cases = [
      new Uint8Array(0), sig.subarray(0, sig.length - 1), Uint8Array.from([...sig, 0]), padded,
      der(r + N, s), der(r, s + N), der(0n, s), der(r, 0n), der(N, s), der(r, N),
      compactFromDer(sig) as Uint8Array
    ]
    for (const c of cases) {
      const [fast, slow] = both(k, data, c)
      expect(fast).toEqual(slow)
      expect(fast).not.toBe(true)
    }
  })

  it('agrees with the original on random corruptions', () => {
    const k = keys[5]!
    for (let i = 0; i < 200; i++) {
      const data = Uint8Array.from(Buffer.from(`corrupted ${i}`))
      const sig = (k.sign(data) as Uint8Array).slice()
      sig[(i * 7) % sig.length]! ^= 1 << (i % 8)
      const [fast, slow] = both(k, data, sig)
      expect(fast, `byte ${(i * 7) % sig.length} bit ${i % 8}`).toEqual(slow)
    }
  })

  it('reads canonical DER only', () => {
    const sig = keys[6]!.sign(Uint8Array.from([1, 2, 3])) as Uint8Array
    expect(compactFromDer(sig)).toHaveLength(64)
    expect(compactFromDer(der(1n, 1n))).toEqual(Uint8Array.from([...new Uint8Array(31), 1, ...new Uint8Array(31), 1]))
    expect(compactFromDer(Uint8Array.from([0x30, 6, 0x02, 1, 0x80, 0x02, 1, 1]))).toBeUndefined()
    expect(compactFromDer(Uint8Array.from([0x30, 7, 0x02, 2, 0x00, 0x01, 0x02, 1, 1]))).toBeUndefined()
    expect(compactFromDer(Uint8Array.from([0x31, 6, 0x02, 1, 1, 0x02, 1, 1]))).toBeUndefined()
  })
})
