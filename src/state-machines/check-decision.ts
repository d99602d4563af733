/**
 * Whether the job creator checks a deal's results: keccak256(dealId, secret) read as a fraction of
 * 2^256, below the check rate p. Deterministic on replay; the provider, not knowing the secret,
 * cannot predict it.
 */
import { keccak256 } from '../protocols/messages/keccak.ts'
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js'

const SCALE = 1_000_000n
const BYTES32 = /^0x[0-9a-fA-F]{64}$/

/** keccak256 of the two 32-byte values packed (as Solidity's abi.encodePacked(bytes32, bytes32)), as a number. */
export function checkDraw (dealId: string, secret: string): bigint {
  if (!BYTES32.test(dealId) || !BYTES32.test(secret)) throw new TypeError('a check draw takes a deal id and a secret of 32 bytes each')
  return BigInt('0x' + bytesToHex(keccak256(concatBytes(hexToBytes(dealId.slice(2)), hexToBytes(secret.slice(2))))))
}

export function shouldCheck (dealId: string, secret: string, checkRate: number): boolean {
  if (!(checkRate >= 0 && checkRate <= 1)) throw new RangeError(`check rate must be within [0, 1], got ${checkRate}`)
  const threshold = (BigInt(Math.round(checkRate * Number(SCALE))) << 256n) / SCALE
  return checkDraw(dealId, secret) < threshold
}
