import { keccak_256 } from '@noble/hashes/sha3.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { keccak256 } from '../../../../src/protocols/messages/keccak.ts'

describe('keccak256 equals noble\'s keccak_256', () => {
  const hash = keccak256
  test('known digests: the empty input and "abc"', () => {
    expect(Buffer.from(hash(new Uint8Array(0))).toString('hex')).toBe('c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470')
    expect(Buffer.from(hash(new TextEncoder().encode('abc'))).toString('hex')).toBe('4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45')
  })

  test('every length from 0 to 600 bytes (padding in the last byte of a block, whole blocks, several blocks)', () => {
    for (let n = 0; n <= 600; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 131 + n * 7) & 0xff)
      expect(hash(bytes)).toEqual(keccak_256(bytes))
    }
  })

  test('random inputs, also views into larger buffers', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat({ max: 16 }), (bytes, skip) => {
      const view = new Uint8Array(bytes.length + skip + 3).subarray(skip, skip + bytes.length)
      view.set(bytes)
      expect(hash(view)).toEqual(keccak_256(bytes))
    }), { numRuns: 300 })
  })

  test('long inputs, over several of the hasher\'s internal buffers', () => {
    for (const n of [130_000, 140_000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 7919) & 0xff)
      expect(hash(bytes)).toEqual(keccak_256(bytes))
    }
  })

  test('a digest is a copy: hashing again does not change it', () => {
    const first = hash(Uint8Array.of(1, 2, 3))
    const copy = Uint8Array.from(first)
    hash(Uint8Array.of(4, 5, 6))
    expect(first).toEqual(copy)
  })
})
