import { Level } from 'level'
import { MemoryLevel } from 'memory-level'
import type { AbstractIteratorOptions, AbstractLevel, AbstractSublevel } from 'abstract-level'
import type { Json } from '../../state-machines/contract.ts'
import { Bucket, seqKey } from './keys.ts'
import { GENESIS_PREV, LOG_SCHEMA_VERSION, LogIntegrityError, decodeRecord, hashMismatch, openRecord, sealRecord, type LogRecord } from './record.ts'
import { signCheckpoint, type LogSigner } from './checkpoint.ts'
import { SnapshotStore } from './snapshot-store.ts'
import { HashChecker } from './hash-checker.ts'
import type { Resource } from '../../support/lifecycle.ts'

export interface AppendEntry {
  type: string
  /** JSON data; undefined members are dropped, as JSON does */
  data: Json | object
}

export interface AppendOptions {
  /** seal a signed checkpoint of the head after the entries (when the log has a signer) */
  checkpoint?: boolean
}

/** A value kept in a side bucket, written in the same atomic batch as the records it goes with. */
export interface SideWrite {
  bucket: 'messages'
  key: string
  value: string
}

export interface EventLogOptions {
  /** a signed checkpoint of the head is appended every this many records (0: never) */
  checkpointEvery?: number
  /** signs checkpoints; its address goes into the genesis record */
  signer?: LogSigner
  /** ms since the epoch; stamped on every record */
  now?: () => number
  /** fsync every batch (survives power loss, ~100x slower); a killed process loses nothing either way */
  sync?: boolean
  /**
   * Open for inspection: a damaged head record does not stop the open (read() reports it), nothing
   * is written, and appends are refused. For audits.
   */
  inspect?: boolean
  /**
   * Reads of at least this many records check the records' hashes on a worker thread (a second
   * core) while they are decoded here (Infinity: never).
   */
  hashWorkerFrom?: number
}

export const RecordType = {
  genesis: 'genesis',
  checkpoint: 'checkpoint'
} as const

export interface GenesisData {
  node: string | null
  schema: number
  [key: string]: string | number | null
}

type Db = AbstractLevel<string | Buffer | Uint8Array, string, string>
export type StringBucket = AbstractSublevel<Db, string | Buffer | Uint8Array, string, string>

/** Records read from the database at a time. */
const READ_PAGE = 1000
/** shorter reads keep to this thread: the hash worker is a thread and some 10 MB, and takes some 40 ms to start */
const HASH_WORKER_FROM = 5 * READ_PAGE

/**
 * The node's append-only, hash-chained event log in LevelDB. Appends are serialised and each is
 * one atomic batch: a record is wholly in or wholly out. One process per folder (LevelDB locks it).
 * The same log can be held in memory (`inMemory`), for what runs over a log and needs no disk: the
 * code is one, only the store differs, and one compliance suite runs against both.
 */
export class EventLog implements Resource {
  readonly snapshots: SnapshotStore
  private tail: Promise<unknown> = Promise.resolve()
  private last: LogRecord | undefined
  private headSeq = 0
  private closed = false
  private readonly buckets = new Map<string, StringBucket>()
  /** started by the first read long enough to use it; null when it could not start */
  private hashes: HashChecker | null | undefined

  private constructor (
    private readonly db: Db,
    private readonly records: StringBucket,
    private readonly options: Required<Omit<EventLogOptions, 'signer'>> & { signer?: LogSigner }
  ) {
    this.snapshots = new SnapshotStore(db.sublevel<string, string>(Bucket.snapshots, { valueEncoding: 'utf8' }))
  }

  static async open (dir: string, options: EventLogOptions = {}): Promise<EventLog> {
    const db = new Level<string, string>(dir, { valueEncoding: 'utf8' })
    try {
      await db.open({ createIfMissing: options.inspect !== true })
    } catch (err) {
      const cause = (err as { cause?: Error }).cause?.message ?? (err as Error).message
      const hint = /lock/i.test(cause) ? ' (is a node running on this data directory?)' : /does not exist/i.test(cause) ? ' (no event log there)' : ''
      throw new Error(`cannot open the event log at ${dir}: ${cause}${hint}`)
    }
    return await EventLog.over(db, options)
  }

  /** A log held in memory only: gone when closed. */
  static async inMemory (options: Omit<EventLogOptions, 'inspect' | 'sync'> = {}): Promise<EventLog> {
    const db = new MemoryLevel<string, string>({ valueEncoding: 'utf8' })
    await db.open()
    return await EventLog.over(db, options)
  }

  private static async over (db: Db, options: EventLogOptions): Promise<EventLog> {
    const records = db.sublevel<string, string>(Bucket.records, { valueEncoding: 'utf8' })
    const log = new EventLog(db, records, {
      checkpointEvery: options.checkpointEvery ?? 1000,
      now: options.now ?? Date.now,
      sync: options.sync ?? false,
      inspect: options.inspect ?? false,
      hashWorkerFrom: options.hashWorkerFrom ?? HASH_WORKER_FROM,
      signer: options.signer
    })
    for await (const [key, value] of records.iterator({ reverse: true, limit: 1 })) {
      log.headSeq = Number(key)
      if (options.inspect === true) break
      log.last = openRecord(value, log.headSeq)
    }
    if (log.headSeq === 0 && options.inspect !== true) {
      const genesis: GenesisData = { node: options.signer?.address ?? null, schema: LOG_SCHEMA_VERSION }
      await log.append([{ type: RecordType.genesis, data: genesis }])
    }
    return log
  }

  /** A side bucket of the same database, for data kept beside the log (never the records). */
  bucket (name: 'messages'): StringBucket {
    let bucket = this.buckets.get(name)
    if (bucket === undefined) this.buckets.set(name, bucket = this.db.sublevel<string, string>(Bucket[name], { valueEncoding: 'utf8' }))
    return bucket
  }

  /** The newest record. */
  head (): LogRecord {
    if (this.last === undefined) throw new Error('event log head is not loaded')
    return this.last
  }

  /** The seq of the newest record (0 when empty). */
  get length (): number {
    return this.headSeq
  }

  /**
   * Appends entries as one atomic batch, in order, with `beside` written to their side buckets in
   * the same batch; returns the sealed records.
   */
  append (entries: AppendEntry[], beside: readonly SideWrite[] = [], options: AppendOptions = {}): Promise<LogRecord[]> {
    const run = this.tail.then(() => this.appendNow(entries, beside, options))
    this.tail = run.catch(() => undefined)
    return run
  }

  private async appendNow (entries: AppendEntry[], beside: readonly SideWrite[], options: AppendOptions): Promise<LogRecord[]> {
    if (this.closed) throw new Error('event log is closed')
    if (this.options.inspect) throw new Error('event log is open for inspection only')
    if (entries.length === 0) return []
    const at = this.options.now()
    const sealed: LogRecord[] = []
    // one chained batch on the root database, keys carrying the records bucket's prefix: about
    // twice as fast as an array batch through the sublevel, which re-encodes every operation.
    // Values go in as strings, the database's own encoding: buffers put with the encoding named in
    // each put's options measured several times slower (some 50k against 200k puts/s)
    const batch = this.db.batch()
    const prefix = this.records.prefix
    let prev = this.last
    const push = (type: string, data: Json | object): void => {
      const seq = (prev?.seq ?? 0) + 1
      const { record, stored } = sealRecord({ v: LOG_SCHEMA_VERSION, seq, at, type, data: data as Json, prev: prev?.hash ?? GENESIS_PREV })
      sealed.push(record)
      batch.put(prefix + seqKey(seq), stored)
      prev = record
    }
    const every = this.options.checkpointEvery
    try {
      for (const entry of entries) {
        push(entry.type, entry.data)
        if (every > 0 && this.options.signer !== undefined && prev !== undefined && prev.seq % every === 0) {
          push(RecordType.checkpoint, signCheckpoint(this.options.signer, prev.seq, prev.hash))
        }
      }
      if (options.checkpoint === true && this.options.signer !== undefined && prev !== undefined && prev.type !== RecordType.checkpoint) {
        push(RecordType.checkpoint, signCheckpoint(this.options.signer, prev.seq, prev.hash))
      }
    } catch (err) {
      await batch.close()
      throw err
    }
    for (const write of beside) batch.put(this.bucket(write.bucket).prefix + write.key, write.value)
    // classic-level honours `sync` on a batch write, the types omit it
    await batch.write({ sync: this.options.sync } as object)
    this.last = prev
    this.headSeq = prev?.seq ?? 0
    return sealed
  }

  /** Reads one record, checking its own hash. */
  async get (seq: number): Promise<LogRecord | undefined> {
    const value = await this.records.get(seqKey(seq))
    return value === undefined ? undefined : openRecord(value, seq)
  }

  /**
   * Streams records from `from` (inclusive), checking each record's hash and its link to the one
   * before; stops at the head as it was when called, or at `to`. A record that fails its checks
   * ends the stream with a LogIntegrityError, after every record before it.
   */
  read (from = 1, to?: number): AsyncIterableIterator<LogRecord> {
    // records come a checked page at a time and are handed out from it: yielding each from an
    // async generator took about a sixth of the time of a replay
    const pages = this.pages(from, to)
    let page: LogRecord[] = []
    let index = 0
    return {
      [Symbol.asyncIterator] () { return this },
      async next (): Promise<IteratorResult<LogRecord>> {
        while (index === page.length) {
          const result = await pages.next()
          if (result.done === true) return { done: true, value: undefined }
          page = result.value
          index = 0
        }
        return { done: false, value: page[index++] as LogRecord }
      },
      async return (): Promise<IteratorResult<LogRecord>> {
        await pages.return(undefined)
        return { done: true, value: undefined }
      }
    }
  }

  private async * pages (from: number, to: number | undefined): AsyncGenerator<LogRecord[]> {
    const end = Math.min(to ?? Infinity, this.headSeq)
    if (from > end) return
    let prevHash = from <= 1 ? GENESIS_PREV : (await this.get(from - 1))?.hash
    if (prevHash === undefined) throw new LogIntegrityError('ERR_LOG_SEQ', from - 1, 'is missing')
    let expected = from
    const hashes = end - from + 1 >= this.options.hashWorkerFrom ? this.hashChecker() : undefined
    // values only, from the root database (each record holds its seq), in pages of up to
    // READ_PAGE records: classic-level otherwise ends a page at 16 KiB, some 40 records (its option,
    // which the abstract types omit and other stores ignore)
    const prefix = this.records.prefix
    const iterator = this.db.iterator({
      gte: prefix + seqKey(from), lte: prefix + seqKey(end), keys: false, highWaterMarkBytes: READ_PAGE * 1024
    } as AbstractIteratorOptions<string, string>)
    // the next page is read (off the main thread) while this one is checked; with the hash worker,
    // the page after this one is read first, so that the worker checks it while this one is decoded
    let next = iterator.nextv(READ_PAGE)
    const take = async (): Promise<{ texts: string[], verdict?: Promise<number> } | undefined> => {
      const entries = await next
      if (entries.length === 0) return undefined
      next = iterator.nextv(READ_PAGE)
      const texts = entries.map(([, value]) => value)
      return { texts, verdict: hashes?.check(texts) }
    }
    try {
      let page = await take()
      while (page !== undefined) {
        const following = hashes === undefined ? undefined : await take()
        const { texts, verdict } = page
        const first = expected
        const records: LogRecord[] = []
        let failure: unknown
        try {
          for (const text of texts) {
            const record = verdict === undefined ? openRecord(text, expected) : decodeRecord(text, expected)
            if (record.prev !== prevHash) {
              throw new LogIntegrityError('ERR_LOG_CHAIN', expected, 'does not link to the record before it')
            }
            records.push(record)
            prevHash = record.hash
            expected++
          }
        } catch (err) {
          failure = err
        }
        if (verdict !== undefined) {
          // openRecord checks a record's hash after every other check of it, and its link after that
          const bad = await verdict
          const chainBreak = failure instanceof LogIntegrityError && failure.code === 'ERR_LOG_CHAIN'
          if (bad >= 0 && (bad < records.length || (bad === records.length && chainBreak))) {
            failure = hashMismatch(first + bad)
            records.length = bad
          }
        }
        if (records.length > 0) yield records
        if (failure !== undefined) throw failure
        page = hashes === undefined ? await take() : following
      }
    } finally {
      await next.catch(() => undefined)
      await iterator.close()
    }
    if (expected <= end) throw new LogIntegrityError('ERR_LOG_SEQ', expected, 'is missing')
  }

  private hashChecker (): HashChecker | undefined {
    if (this.hashes === undefined && !this.closed) this.hashes = HashChecker.start() ?? null
    return this.hashes ?? undefined
  }

  async close (): Promise<void> {
    if (this.closed) return
    await this.tail
    this.closed = true
    await this.hashes?.stop()
    await this.db.close()
  }
}
