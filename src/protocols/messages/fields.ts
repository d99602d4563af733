/** Zod schemas of the EIP-712 field kinds, each with the bounds the wire enforces. */
import { getAddress } from 'ethers'
import { z } from 'zod'
import { listPath, withFastPath } from './fast-parse.ts'
import { BoundedMemo } from './memo.ts'
import { LIMITS } from './limits.ts'

const UINT256_MAX = (1n << 256n) - 1n
export const UINT32_MAX = 0xffff_ffff

export { LIMITS }

/**
 * Addresses whose checksum is known. A node meets a few thousand; the bound keeps what an address
 * flood can take to a few tens of megabytes, and leaves room for a simulation of a hundred thousand
 * nodes in one process, which meets every node's address (its memo keeps two generations and drops
 * the older whole, so it keeps what it holds when it holds twice what it meets).
 */
const checksums = new BoundedMemo<string | null>(262_144)

/**
 * The checksummed form of an address, or null when its mixed case is a wrong checksum. Memoised:
 * the same few addresses appear in every message, and each checksum costs a keccak.
 */
export function checksummedAddress (value: string): string | null {
  let known = checksums.get(value)
  if (known === undefined) {
    try {
      known = getAddress(value)
      // an address already in checksum form is its own normal form: the same string object then
      // flows on into payloads, and each later lookup of it matches its key without comparing text
      if (known === value) known = value
    } catch {
      known = null
    }
    checksums.set(value, known)
  }
  return known
}

export const ADDRESS = /^0x[0-9a-fA-F]{40}$/

/** An Ethereum address; normalised to its checksummed form. */
export const address = z.string().regex(ADDRESS, 'expected a 20-byte hex address')
  .transform((value, ctx) => {
    const normalised = checksummedAddress(value)
    if (normalised !== null) return normalised
    ctx.addIssue({ code: 'custom', message: 'bad address checksum' })
    return z.NEVER
  })

// An address met before is in the checksum memo, which only ever holds values of the address form:
// its answer needs no pattern test (a wrong checksum, null there, is zod's to report).
withFastPath(address, v => {
  if (typeof v !== 'string') return undefined
  const known = checksums.get(v)
  if (known !== undefined) return known ?? undefined
  return ADDRESS.test(v) ? checksummedAddress(v) ?? undefined : undefined
})

/** digits only (leading zeros and all): what BigInt reads as a decimal */
export const DIGITS = /^[0-9]+$/

/**
 * Whether a decimal string is at most `max`: one with fewer digits is, without a BigInt being made
 * of it. A string that is not all digits passes here: the format check refuses it (and BigInt
 * would throw on it).
 */
function atMost (max: bigint): (v: string) => boolean {
  const digits = max.toString().length
  return v => v.length < digits || !DIGITS.test(v) || (v.length === digits && BigInt(v) <= max)
}

const UINT = /^(0|[1-9][0-9]*)$/
const withinUint256 = atMost(UINT256_MAX)
const withinMaxAmount = atMost(LIMITS.maxAmount)

/** A uint256 as a canonical decimal string (no sign, no leading zeros). */
export const uint256 = z.string().max(78).regex(UINT, 'expected a decimal integer string')
  .refine(withinUint256, 'exceeds uint256')

/** A token amount in wei: a uint256 bounded by LIMITS.maxAmount. */
export const wei = uint256.refine(withinMaxAmount, 'amount too large')

/** uint64 milliseconds (absolute time or duration); bounded to what a JS number holds exactly. */
export const millis = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

/** A duration in milliseconds no longer than one window of a deal may be. */
export const windowMillis = z.number().int().min(0).max(LIMITS.maxWindowMs)

export const uint32 = z.number().int().min(0).max(UINT32_MAX)
/** How many matching verdicts settle a challenge: 1, the one judge the chain draws; k > 1, k of the deal's mediators. */
export const quorum = z.number().int().min(1).max(LIMITS.mediators)
export const int32 = z.number().int().min(-0x8000_0000).max(0x7fff_ffff)

const BYTES32 = /^0x[0-9a-fA-F]{64}$/

export const bytes32 = z.string().regex(BYTES32, 'expected 32 bytes of hex').transform(v => v.toLowerCase())

const CID = /^[A-Za-z0-9]+$/

/** A content id (CIDv0 or CIDv1 in base32/base58); the empty string only where a schema allows it. */
export const cid = z.string().min(1).max(LIMITS.cid).regex(CID, 'expected a CID')

export const boundedString = (max: number): z.ZodString =>
  withFastPath(z.string().max(max), v => typeof v === 'string' && v.length <= max ? v : undefined)

/** A string of `min` to `max` characters. */
export const text = (min: number, max: number): z.ZodString =>
  withFastPath(z.string().min(min).max(max), v => typeof v === 'string' && v.length >= min && v.length <= max ? v : undefined)

/** A string matching `pattern` (neither global nor sticky: its test keeps no state). */
export const matching = (pattern: RegExp, message: string): z.ZodString =>
  withFastPath(z.string().regex(pattern, message), v => typeof v === 'string' && pattern.test(v) ? v : undefined)

export const flag = withFastPath(z.boolean(), v => typeof v === 'boolean' ? v : undefined)

/** A list of `item`s, `min` to `max` of them. */
export function list<T extends z.ZodType> (item: T, max: number, min = 0): z.ZodArray<T> {
  return withFastPath(z.array(item).min(min).max(max), listPath(item, min, max))
}

// The field kinds of every message, checked as their schemas check them.
const isUint256 = (v: unknown): v is string => typeof v === 'string' && v.length <= 78 && UINT.test(v) && withinUint256(v)
withFastPath(uint256, v => isUint256(v) ? v : undefined)
withFastPath(wei, v => isUint256(v) && withinMaxAmount(v) ? v : undefined)
withFastPath(millis, v => Number.isSafeInteger(v) && (v as number) >= 0 ? v : undefined)
withFastPath(windowMillis, v => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= LIMITS.maxWindowMs ? v : undefined)
withFastPath(uint32, v => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= UINT32_MAX ? v : undefined)
withFastPath(quorum, v => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= LIMITS.mediators ? v : undefined)
withFastPath(int32, v => Number.isSafeInteger(v) && (v as number) >= -0x8000_0000 && (v as number) <= 0x7fff_ffff ? v : undefined)
withFastPath(bytes32, v => typeof v === 'string' && BYTES32.test(v) ? v.toLowerCase() : undefined)
const isCid = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= LIMITS.cid && CID.test(v)
withFastPath(cid, v => isCid(v) ? v : undefined)

/** A CID, or the empty string (a verdict on results that could not be fetched names no CID of its own). */
export const cidOrEmpty = withFastPath(z.union([cid, z.literal('')]), v => v === '' || isCid(v) ? v : undefined)

export const addressList = (max: number, min = 0): z.ZodArray<typeof address> => list(address, max, min)
