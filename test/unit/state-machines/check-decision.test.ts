import fc from 'fast-check'
import { hexlify, solidityPackedKeccak256 } from 'ethers'
import { expect, test } from 'vitest'
import { checkDraw } from '../../../src/state-machines/check-decision.ts'

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).chain(b => fc.constantFrom(hexlify(b), hexlify(b).toUpperCase().replace('0X', '0x')))

test('the check draw is keccak256(abi.encodePacked(dealId, secret)), as ethers computes it', () => {
  fc.assert(fc.property(bytes32, bytes32, (dealId, secret) => {
    expect(checkDraw(dealId, secret)).toBe(BigInt(solidityPackedKeccak256(['bytes32', 'bytes32'], [dealId, secret])))
  }), { numRuns: 200 })
  expect(() => checkDraw('0x1234', '0x' + '00'.repeat(32))).toThrow()
})
