import fc from 'fast-check'
import { hexlify, solidityPackedKeccak256 } from 'ethers'
import { expect, test } from 'vitest'
import { checkDraw, checkThreshold, shouldCheck } from '../../../src/state-machines/check-decision.ts'

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).chain(b => fc.constantFrom(hexlify(b), hexlify(b).toUpperCase().replace('0X', '0x')))

test('the check draw is keccak256(abi.encodePacked(dealId, secret)), as ethers computes it', () => {
  fc.assert(fc.property(bytes32, bytes32, (dealId, secret) => {
    expect(checkDraw(dealId, secret)).toBe(BigInt(solidityPackedKeccak256(['bytes32', 'bytes32'], [dealId, secret])))
  }), { numRuns: 200 })
  expect(() => checkDraw('0x1234', '0x' + '00'.repeat(32))).toThrow()
})

test('a deal is checked when its draw is below p·2^256, at every rate from never to always', () => {
  const rate = fc.oneof(fc.constantFrom(0, 1, 0.5, 1e-6, 1 - 1e-6, 0.1), fc.double({ min: 0, max: 1, noNaN: true }))
  fc.assert(fc.property(bytes32, bytes32, rate, (dealId, secret, p) => {
    expect(shouldCheck(dealId, secret, p)).toBe(checkDraw(dealId, secret) < checkThreshold(p))
  }), { numRuns: 300 })
  const dealId = '0x' + 'ab'.repeat(32)
  expect(shouldCheck(dealId, dealId, 0)).toBe(false)
  expect(shouldCheck(dealId, dealId, 1)).toBe(true)
  expect(() => shouldCheck(dealId, dealId, 1.5)).toThrow(RangeError)
  expect(() => shouldCheck('0x12', dealId, 1)).toThrow(TypeError)
})

test('draws on either side of a threshold fall on either side of it', () => {
  // a rate whose threshold is known: 1/2 is 2^255, and a draw is below it exactly when its first hex digit is below 8
  fc.assert(fc.property(bytes32, bytes32, (dealId, secret) => {
    const first = checkDraw(dealId, secret).toString(16).padStart(64, '0')[0] as string
    expect(shouldCheck(dealId, secret, 0.5)).toBe(parseInt(first, 16) < 8)
  }), { numRuns: 200 })
})
