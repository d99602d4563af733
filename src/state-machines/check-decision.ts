/**
 * Whether the job creator checks a deal's results: keccak256(dealId, secret) read as a fraction of
 * 2^256, below the check rate p. Deterministic on replay; the provider, not knowing the secret,
 * cannot predict it.
 */
import { solidityPackedKeccak256 } from 'ethers'

const SCALE = 1_000_000n

export function checkDraw (dealId: string, secret: string): bigint {
  return BigInt(solidityPackedKeccak256(['bytes32', 'bytes32'], [dealId, secret]))
}

export function shouldCheck (dealId: string, secret: string, checkRate: number): boolean {
  if (!(checkRate >= 0 && checkRate <= 1)) throw new RangeError(`check rate must be within [0, 1], got ${checkRate}`)
  const threshold = (BigInt(Math.round(checkRate * Number(SCALE))) << 256n) / SCALE
  return checkDraw(dealId, secret) < threshold
}
