/**
 * Whether the job creator checks a deal's results: keccak256(dealId, secret) read as a fraction of
 * 2^256, below the check rate p. Deterministic on replay; the provider, not knowing the secret,
 * cannot predict it.
 */
import { keccak256 } from '../protocols/messages/keccak.ts'
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js'

const SCALE = 1_000_000n
const BYTES32 = /^0x[0-9a-fA-F]{64}$/

/** keccak256 of the two 32-byte values packed (as Solidity's abi.encodePacked(bytes32, bytes32)), as 64 lower-case hex digits. */
function drawHex (dealId: string, secret: string): string {
  if (!BYTES32.test(dealId) || !BYTES32.test(secret)) throw new TypeError('a check draw takes a deal id and a secret of 32 bytes each')
  return bytesToHex(keccak256(concatBytes(hexToBytes(dealId.slice(2)), hexToBytes(secret.slice(2)))))
}

/** keccak256 of the two 32-byte values packed (as Solidity's abi.encodePacked(bytes32, bytes32)), as a number. */
export function checkDraw (dealId: string, secret: string): bigint {
  return BigInt('0x' + drawHex(dealId, secret))
}

/** p·2^256 (p rounded to millionths): a draw below it is checked. */
export function checkThreshold (checkRate: number): bigint {
  if (!(checkRate >= 0 && checkRate <= 1)) throw new RangeError(`check rate must be within [0, 1], got ${checkRate}`)
  return (BigInt(Math.round(checkRate * Number(SCALE))) << 256n) / SCALE
}

/** per check rate, its threshold as 64 hex digits, or null when it is 2^256 (every draw is below it) */
const thresholds = new Map<number, string | null>()

function thresholdHex (checkRate: number): string | null {
  let hex = thresholds.get(checkRate)
  if (hex === undefined) {
    const threshold = checkThreshold(checkRate)
    hex = threshold >> 256n > 0n ? null : threshold.toString(16).padStart(64, '0')
    if (thresholds.size >= 64) thresholds.clear()
    thresholds.set(checkRate, hex)
  }
  return hex
}

export function shouldCheck (dealId: string, secret: string, checkRate: number): boolean {
  const threshold = thresholdHex(checkRate)
  const draw = drawHex(dealId, secret)
  // two numbers written as hex digits of the same length, in the same case, compare as their texts do
  return threshold === null || draw < threshold
}
