/**
 * EIP-712 hashing of our message types, without ethers' generic encoder on the hot path.
 *
 * Every struct here is flat (atomic fields, strings and arrays of atomic values), so its encoding
 * is `typeHash ‖ one 32-byte word per field`: the type hashes are computed once, each field is
 * written straight into one buffer, and the digest is `keccak256(0x1901 ‖ domainSeparator ‖
 * keccak256(encoding))`. The result is exactly ethers' `TypedDataEncoder.hash` (a property test
 * compares them on random messages of every type). A value in a form the fast path does not
 * handle (a hex number, a missing field, an address with a bad checksum, a lone surrogate in a
 * string) goes to ethers instead, so odd input gets ethers' own result or error.
 */
import { hex0x } from './hex.ts'
import { keccak256 } from './keccak.ts'
import { hexToBytes } from '@noble/hashes/utils.js'
import { TypedDataEncoder } from 'ethers'
import { generatedOr } from './generated.ts'
import { EIP712_TYPES, encodeTypeString, typesFor, type LilypadDomain, type MessageType } from './eip712-types.ts'
import { checksummedAddress } from './fields.ts'
import { BoundedMemo } from './memo.ts'

const WORD = 32
const utf8 = new TextEncoder()

/** Thrown inside the fast path for a value it does not handle; the caller then asks ethers. */
class Unsupported extends Error {}
const unsupported = new Unsupported()

/** Writes one field's 32-byte word at `at`. */
type WordWriter = (value: unknown, out: Uint8Array, at: number) => void

const DECIMAL = /^[0-9]{1,78}$/
const ADDRESS = /^0x[0-9a-fA-F]{40}$/
const BYTES32 = /^0x[0-9a-fA-F]{64}$/
const SURROGATE = /[\uD800-\uDFFF]/

/** Writes n (below 2^256) big-endian into its word, from its hex digits (a BigInt shift per byte costs more). */
function writeBigInt (n: bigint, out: Uint8Array, at: number): void {
  const hex = n.toString(16)
  let i = at + WORD - 1
  for (let end = hex.length; end > 0; end -= 2, i--) {
    const low = nibble(hex.charCodeAt(end - 1))
    out[i] = end >= 2 ? (nibble(hex.charCodeAt(end - 2)) << 4) | low : low
  }
}

function nibble (code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57 // '0'-'9', 'a'-'f' (BigInt's hex is lower case)
}

function writeSafeInteger (n: number, out: Uint8Array, at: number): void {
  for (let i = at + WORD - 1; i >= at && n > 0; i--) {
    out[i] = n % 256
    n = Math.floor(n / 256)
  }
}

function uintWriter (bits: number): WordWriter {
  const max = (1n << BigInt(bits)) - 1n
  const maxNumber = bits < 53 ? 2 ** bits - 1 : Number.MAX_SAFE_INTEGER
  return (value, out, at) => {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value) || value < 0 || value > maxNumber) throw unsupported
      writeSafeInteger(value, out, at)
      return
    }
    let n: bigint
    if (typeof value === 'bigint') n = value
    else if (typeof value === 'string' && DECIMAL.test(value)) {
      // most amounts are small: fifteen digits or fewer are an exact number, written without a BigInt
      if (value.length <= 15 && maxNumber === Number.MAX_SAFE_INTEGER) {
        writeSafeInteger(Number(value), out, at)
        return
      }
      n = BigInt(value)
    } else throw unsupported
    if (n < 0n || n > max) throw unsupported
    writeBigInt(n, out, at)
  }
}

const writeInt32: WordWriter = (value, out, at) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) throw unsupported
  if (value >= 0) {
    writeSafeInteger(value, out, at)
    return
  }
  out.fill(0xff, at, at + WORD - 4) // two's complement over 256 bits
  new DataView(out.buffer, out.byteOffset + at + WORD - 4, 4).setInt32(0, value)
}

const writeBool: WordWriter = (value, out, at) => {
  if (typeof value !== 'boolean') throw unsupported
  out[at + WORD - 1] = value ? 1 : 0
}

/** EIP-55: a mixed-case address must carry its checksum (as ethers' getAddress insists). */
function hasValidChecksum (address: string): boolean {
  return checksummedAddress(address) !== null
}

const writeAddress: WordWriter = (value, out, at) => {
  if (typeof value !== 'string' || !ADDRESS.test(value) || !hasValidChecksum(value)) throw unsupported
  out.set(hexToBytes(value.slice(2)), at + 12)
}

const writeBytes32: WordWriter = (value, out, at) => {
  if (typeof value !== 'string' || !BYTES32.test(value)) throw unsupported
  out.set(hexToBytes(value.slice(2)), at)
}

/** each hex digit's value by its character code; -1 for any other character */
const HEX_VALUE = new Int8Array(128).fill(-1)
for (let c = 0; c < 16; c++) {
  HEX_VALUE[c.toString(16).charCodeAt(0)] = c
  HEX_VALUE[c.toString(16).toUpperCase().charCodeAt(0)] = c
}

/** Writes the `bytes` bytes of a `0x`-prefixed hex value of exactly that length; Unsupported for anything else. */
function writeHex (value: unknown, bytes: number, out: Uint8Array, at: number): void {
  if (typeof value !== 'string' || value.length !== 2 + 2 * bytes || value.charCodeAt(0) !== 0x30 || value.charCodeAt(1) !== 0x78) throw unsupported
  for (let i = 0; i < bytes; i++) {
    const high = hexDigit(value.charCodeAt(2 + 2 * i))
    const low = hexDigit(value.charCodeAt(3 + 2 * i))
    if (high < 0 || low < 0) throw unsupported
    out[at + i] = (high << 4) | low
  }
}

function hexDigit (code: number): number {
  return code < 128 ? HEX_VALUE[code] as number : -1
}

/**
 * The writers for a payload its schema checked (see `hashTypedMessage`): an address there carries a
 * valid checksum and a 32-byte value is hex, so neither is tested again against its pattern or
 * checksum. Each is still read digit by digit, and anything else is still left to ethers.
 */
const writeCheckedAddress: WordWriter = (value, out, at) => { writeHex(value, 20, out, at + 12) }
const writeCheckedBytes32: WordWriter = (value, out, at) => { writeHex(value, 32, out, at) }

/**
 * Strings and arrays hash to a word of their own, and most of them repeat from message to message
 * (module names, trusted lists, empty lists): each is hashed once while it stays in its memo. A
 * memo per kind of value keys them by the value's own text (a string) or its JSON (an array), with
 * nothing prepended: a string met again is then looked up without being copied.
 */
const MEMO_SIZE = 4096
const MEMO_MAX_LENGTH = 1024

function memoised<V> (memo: BoundedMemo<Uint8Array>, key: string, value: V, hash: (value: V) => Uint8Array): Uint8Array {
  if (key.length > MEMO_MAX_LENGTH) return hash(value)
  let out = memo.get(key)
  if (out === undefined) {
    out = hash(value)
    memo.set(key, out)
  }
  return out
}

const stringHashes = new BoundedMemo<Uint8Array>(MEMO_SIZE)

/** where a string's UTF-8 is written to be hashed: a new buffer each time was an allocation outside the heap */
const STRING_BYTES = new Uint8Array(4096)

function hashString (value: string): Uint8Array {
  if (SURROGATE.test(value)) throw unsupported
  const { read, written } = utf8.encodeInto(value, STRING_BYTES)
  return keccak256(read === value.length ? STRING_BYTES.subarray(0, written) : utf8.encode(value))
}

function stringHash (value: unknown): Uint8Array {
  if (typeof value !== 'string') throw unsupported
  return memoised(stringHashes, value, value, hashString)
}

const writeString: WordWriter = (value, out, at) => {
  out.set(stringHash(value), at)
}

const ATOMIC: Record<string, WordWriter> = {
  address: writeAddress,
  bool: writeBool,
  bytes32: writeBytes32,
  int32: writeInt32,
  uint8: uintWriter(8),
  uint32: uintWriter(32),
  uint64: uintWriter(64),
  uint256: uintWriter(256),
  string: writeString
}

const CHECKED_ATOMIC: Record<string, WordWriter> = { ...ATOMIC, address: writeCheckedAddress, bytes32: writeCheckedBytes32 }

/**
 * Per element type, the hashes of its arrays: shared by both kinds of writer, which give the same
 * hash for every array both accept (and the checked one meets only arrays the other accepts).
 */
const arrayMemos = new Map<string, BoundedMemo<Uint8Array>>()

/** `T[]`: the keccak of its elements' words, concatenated. */
function arrayWriter (element: WordWriter, memo: BoundedMemo<Uint8Array>): WordWriter {
  const hash = (value: unknown[]): Uint8Array => {
    const words = new Uint8Array(value.length * WORD)
    for (let i = 0; i < value.length; i++) element(value[i], words, i * WORD)
    return keccak256(words)
  }
  return (value, out, at) => {
    if (!Array.isArray(value)) throw unsupported
    const strings = value.every(v => typeof v === 'string')
    out.set(strings ? memoised(memo, JSON.stringify(value), value, hash) : hash(value), at)
  }
}

function writerFor (type: string, checked: boolean): WordWriter {
  const element = type.endsWith('[]') ? type.slice(0, -2) : undefined
  const atomic = (checked ? CHECKED_ATOMIC : ATOMIC)[element ?? type]
  if (atomic === undefined || element === undefined) {
    if (atomic === undefined) throw new Error(`no EIP-712 encoder for field type ${type}`)
    return atomic
  }
  let memo = arrayMemos.get(element)
  if (memo === undefined) arrayMemos.set(element, memo = new BoundedMemo<Uint8Array>(MEMO_SIZE))
  return arrayWriter(atomic, memo)
}

type FieldsWriter = (message: Record<string, unknown>, out: Uint8Array) => void

interface StructEncoder {
  /**
   * The struct's encoding, written again for each message: its type hash, then its fields' words.
   * One buffer per type, reused (hashing runs start to end synchronously, and no struct holds
   * another): a new one each time was two allocations outside the heap (its store and the
   * collector's record of it) and their release, for every message id.
   */
  encoding: Uint8Array
  /** writes every field's word after the type hash */
  writeFields: FieldsWriter
  /** the same, for a payload its schema checked */
  writeCheckedFields: FieldsWriter
}

/**
 * Writes a struct's fields, generated per type with the field names in its code: each message of
 * the type is then read with one hidden class, and each field's writer is called from a site of its
 * own, where a loop shared by every type made each read a keyed lookup. The names are JSON string
 * literals, and come from our own type definitions.
 */
function fieldsWriter (fields: ReadonlyArray<{ name: string, type: string }>, checked: boolean): FieldsWriter {
  const writers = fields.map(f => writerFor(f.type, checked))
  const body = fields.map((f, i) => `w[${i}](m[${JSON.stringify(f.name)}], out, ${(i + 1) * WORD})`).join('\n')
  return generatedOr('w', `return function writeFields (m, out) {\n${body}\n}`, writers, () => (message: Record<string, unknown>, out: Uint8Array) => {
    for (let i = 0; i < fields.length; i++) (writers[i] as WordWriter)(message[(fields[i] as { name: string }).name], out, (i + 1) * WORD)
  })
}

const STRUCTS = new Map<string, StructEncoder>(Object.entries(EIP712_TYPES).map(([type, fields]) => [type, {
  encoding: encodingOf(keccak256(utf8.encode(encodeTypeString(type as MessageType))), fields.length),
  writeFields: fieldsWriter(fields, false),
  writeCheckedFields: fieldsWriter(fields, true)
}]))

function encodingOf (typeHash: Uint8Array, fields: number): Uint8Array {
  const encoding = new Uint8Array((fields + 1) * WORD)
  encoding.set(typeHash, 0)
  return encoding
}

/** `hashStruct(message)` by the fast path; throws Unsupported for a value it does not handle. */
function structHash (struct: StructEncoder, message: Record<string, unknown>, checked: boolean): Uint8Array {
  const encoded = struct.encoding
  // the writers leave a word's unused bytes as they find them: zero
  encoded.fill(0, WORD)
  if (checked) struct.writeCheckedFields(message, encoded)
  else struct.writeFields(message, encoded)
  return keccak256(encoded)
}

const separators = new Map<string, Uint8Array>()
const SEPARATOR_MEMO_LIMIT = 64

/** per domain object (machines reuse theirs): its separator, without writing its key */
const separatorOf = new WeakMap<LilypadDomain, Uint8Array>()

/** The domain separator, computed by ethers once per domain. */
function domainSeparator (domain: LilypadDomain): Uint8Array {
  let known = separatorOf.get(domain)
  if (known === undefined) {
    known = separatorByKey(domain)
    // only a domain that cannot change may be known by identity
    if (Object.isFrozen(domain)) separatorOf.set(domain, known)
  }
  return known
}

function separatorByKey (domain: LilypadDomain): Uint8Array {
  const key = `${String(domain.name)}|${String(domain.version)}|${String(domain.chainId)}|${String(domain.verifyingContract)}|${String(domain.salt)}`
  let separator = separators.get(key)
  if (separator === undefined) {
    separator = hexToBytes(TypedDataEncoder.hashDomain(domain).slice(2))
    if (separators.size >= SEPARATOR_MEMO_LIMIT) separators.clear()
    separators.set(key, separator)
  }
  return separator
}

/** `0x1901 ‖ domainSeparator ‖ hashStruct(message)`, written again for each digest (see `StructEncoder.encoding`) */
const DIGEST_INPUT = new Uint8Array(2 + 2 * WORD)
DIGEST_INPUT[0] = 0x19
DIGEST_INPUT[1] = 0x01

/**
 * The EIP-712 digest of a message: equal to `TypedDataEncoder.hash(domain, typesFor(type), message)`.
 * `checked` says that the message is a payload its type's schema returned (every address there
 * with a valid checksum), whose addresses and 32-byte values need no second test.
 */
export function hashTypedMessage (domain: LilypadDomain, type: MessageType, message: object, checked = false): string {
  const encoder = STRUCTS.get(type)
  if (encoder === undefined || typeof message !== 'object' || message === null) return TypedDataEncoder.hash(domain, typesFor(type), message as Record<string, unknown>)
  let struct: Uint8Array
  try {
    struct = structHash(encoder, message as Record<string, unknown>, checked)
  } catch (err) {
    if (!(err instanceof Unsupported)) throw err
    return TypedDataEncoder.hash(domain, typesFor(type), message as Record<string, unknown>)
  }
  DIGEST_INPUT.set(domainSeparator(domain), 2)
  DIGEST_INPUT.set(struct, 2 + WORD)
  return hex0x(keccak256(DIGEST_INPUT))
}
