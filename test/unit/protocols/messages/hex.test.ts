import fc from 'fast-check'
import { bytesToHex } from '@noble/hashes/utils.js'
import { expect, test } from 'vitest'
import { hex0x } from '../../../../src/protocols/messages/hex.ts'

test('hex0x writes 0x and the bytes in lower-case hex, as noble does, at every length', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), bytes => {
    expect(hex0x(bytes)).toBe('0x' + bytesToHex(bytes))
  }), { numRuns: 300 })
  expect(hex0x(new Uint8Array(0))).toBe('0x')
  expect(hex0x(Uint8Array.of(0, 9, 10, 15, 16, 255))).toBe('0x00090a0f10ff')
  // a view into a larger buffer reads only its own bytes
  expect(hex0x(new Uint8Array([1, 2, 3, 4]).subarray(1, 3))).toBe('0x0203')
})
