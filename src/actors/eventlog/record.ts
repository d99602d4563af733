import { hash as digest } from 'node:crypto'
import { canonicalJson } from './canonical-json.ts'
import type { Json } from '../../state-machines/contract.ts'

/** Bumped whenever the shape of a stored record changes; stored in every record as `v`. */
export const LOG_SCHEMA_VERSION = 1

/** The `prev` of the first record. */
export const GENESIS_PREV = '0'.repeat(64)

export interface LogRecord<T extends Json = Json> {
  v: number
  seq: number
  /** ms since the epoch, when the record was appended */
  at: number
  type: string
  data: T
  /** hash of the previous record, GENESIS_PREV for the first */
  prev: string
  /** sha256 of the canonical JSON (RFC 8785) of this record without `hash` */
  hash: string
}

export type UnsealedRecord = Omit<LogRecord, 'hash'>

export class LogIntegrityError extends Error {
  override readonly name = 'LogIntegrityError'
  constructor (readonly code: 'ERR_LOG_DECODE' | 'ERR_LOG_HASH' | 'ERR_LOG_CHAIN' | 'ERR_LOG_SEQ' | 'ERR_LOG_SCHEMA' | 'ERR_LOG_CHECKPOINT',
    readonly seq: number, message: string) {
    super(`record ${seq}: ${message}`)
  }
}

// the one-shot hash is several times faster than createHash() for records this small
function sha256Hex (text: string): string {
  return digest('sha256', text, 'hex')
}

/**
 * Seals a record: returns it with its hash, and the exact UTF-8 JSON text to store. Keys sort as
 * at, data, hash, prev, seq, type, v, so the canonical text of the record is the canonical text of
 * its body with the hash member spliced in before `prev`: `data` is encoded once.
 */
export function sealRecord (body: UnsealedRecord): { record: LogRecord, stored: string } {
  const head = `{"at":${canonicalJson(body.at)},"data":${canonicalJson(body.data)}`
  const tail = `"prev":${canonicalJson(body.prev)},"seq":${canonicalJson(body.seq)},"type":${canonicalJson(body.type)},"v":${canonicalJson(body.v)}}`
  const text = `${head},${tail}`
  const hash = sha256Hex(text)
  // member by member: spreading `body` took a third of the time of sealing
  const record = { v: body.v, seq: body.seq, at: body.at, type: body.type, data: body.data, prev: body.prev, hash }
  // cut from the hashed text, which hashing made flat: writing `head` again would walk the many
  // small strings canonicalJson joined a second time
  return { record, stored: `${text.slice(0, head.length)},"hash":"${hash}",${text.slice(head.length + 1)}` }
}

const HASH_MEMBER = '"hash":"'
const HASH_HEX_LENGTH = 64
/** `"hash":"<64 hex>",` */
const HASH_MEMBER_LENGTH = HASH_MEMBER.length + HASH_HEX_LENGTH + 2

/**
 * Decodes a stored record and checks its hash against the exact stored bytes. The hashed body is
 * the stored text without its top-level `"hash":"…",` member, which is the last occurrence of
 * `"hash":"` in the text: only prev (hex), seq, type (a JSON string, its quotes escaped) and v
 * follow it, and none of them can hold that text.
 */
export function openRecord (stored: string, expectedSeq: number): LogRecord {
  const record = decode(stored, expectedSeq)
  if (bodyHash(stored, hashMemberAt(stored, record, expectedSeq)) !== record.hash) throw hashMismatch(expectedSeq)
  return record
}

/**
 * Every check of openRecord but its last, the hash itself, which the caller makes apart (with
 * storedHashHolds, or as the hash worker does).
 */
export function decodeRecord (stored: string, expectedSeq: number): LogRecord {
  const record = decode(stored, expectedSeq)
  hashMemberAt(stored, record, expectedSeq)
  return record
}

/** Whether the hash member of a stored record holds the hash of the rest of its text. */
export function storedHashHolds (stored: string): boolean {
  const at = stored.lastIndexOf(HASH_MEMBER)
  const stated = stored.slice(at + HASH_MEMBER.length, at + HASH_MEMBER.length + HASH_HEX_LENGTH)
  return at >= 0 && bodyHash(stored, at) === stated
}

export function hashMismatch (seq: number): LogIntegrityError {
  return new LogIntegrityError('ERR_LOG_HASH', seq, 'hash does not match the stored content')
}

function decode (stored: string, expectedSeq: number): LogRecord {
  let record: LogRecord
  try {
    record = JSON.parse(stored) as LogRecord
  } catch (err) {
    throw new LogIntegrityError('ERR_LOG_DECODE', expectedSeq, `stored value is not JSON (${(err as Error).message})`)
  }
  if (record === null || typeof record !== 'object' || typeof record.hash !== 'string' || typeof record.prev !== 'string' ||
      typeof record.type !== 'string' || typeof record.seq !== 'number' || typeof record.at !== 'number' || !('data' in record)) {
    throw new LogIntegrityError('ERR_LOG_DECODE', expectedSeq, 'stored value is not a log record')
  }
  if (record.v !== LOG_SCHEMA_VERSION) {
    throw new LogIntegrityError('ERR_LOG_SCHEMA', expectedSeq, `schema version ${String(record.v)} is not ${LOG_SCHEMA_VERSION}`)
  }
  if (record.seq !== expectedSeq) {
    throw new LogIntegrityError('ERR_LOG_SEQ', expectedSeq, `holds seq ${record.seq}`)
  }
  return record
}

/** Where the record's hash member starts, checking that it is where canonical form puts it. */
function hashMemberAt (stored: string, record: LogRecord, expectedSeq: number): number {
  const at = stored.lastIndexOf(HASH_MEMBER)
  const end = at + HASH_MEMBER.length + record.hash.length
  if (at < 0 || record.hash.length !== HASH_HEX_LENGTH || stored.slice(at + HASH_MEMBER.length, end) !== record.hash || stored.slice(end, end + 2) !== '",') {
    throw new LogIntegrityError('ERR_LOG_HASH', expectedSeq, 'stored value is not in canonical form')
  }
  return at
}

function bodyHash (stored: string, memberAt: number): string {
  return sha256Hex(stored.slice(0, memberAt) + stored.slice(memberAt + HASH_MEMBER_LENGTH))
}
