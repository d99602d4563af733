import { BaseDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { Key, type Pair, type Query, type KeyQuery } from 'interface-datastore'
import { NotFoundError } from 'interface-store'
import type { AbortOptions } from '@libp2p/interface'
import type { Resource } from '../../support/lifecycle.ts'

/** How often changes reach the disk (default). */
const FLUSH_EVERY_MS = 1_000
/** DHT records held (default): other peers store them here by asking */
const MAX_DHT_RECORDS = 10_000
const DHT_PREFIX = '/dht/'

/**
 * The node's libp2p datastore (its peer store: peers' addresses, keys and protocols): held in
 * memory, loaded from LevelDB at open and written back a second after it changes, and at close.
 *
 * libp2p reads and rewrites a peer's record every time a stream to that peer is negotiated, both
 * ways, so on LevelDB every direct message and block request cost a read and a write of the
 * peer store before any of its own work. What has to outlive a restart is where the parties of open
 * deals can be reached, which a second's delay does not change; a crash loses at most the last
 * second of address updates, which the next connections bring back.
 *
 * The DHT keeps the records other peers ask it to store (provider records, values) here too: any
 * peer can ask, so at most `maxDhtRecords` are held, the least recently written going first.
 */
export class PeerDatastore extends BaseDatastore implements Resource {
  private readonly data = new Map<string, Uint8Array>()
  /** the DHT's keys, least recently written first */
  private readonly dhtKeys = new Set<string>()
  private readonly dirty = new Set<string>()
  private flushing: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private closed = false

  private constructor (private readonly disk: LevelDatastore, private readonly flushEveryMs: number, private readonly maxDhtRecords: number) {
    super()
  }

  static async open (dir: string, options: { flushEveryMs?: number, maxDhtRecords?: number } = {}): Promise<PeerDatastore> {
    const disk = new LevelDatastore(dir)
    await disk.open()
    const store = new PeerDatastore(disk, options.flushEveryMs ?? FLUSH_EVERY_MS, options.maxDhtRecords ?? MAX_DHT_RECORDS)
    for await (const { key, value } of disk.query({})) store.set(key.toString(), value)
    return store
  }

  override put (key: Key, val: Uint8Array, options?: AbortOptions): Key {
    options?.signal?.throwIfAborted()
    this.set(key.toString(), val)
    this.changed(key)
    return key
  }

  private set (key: string, value: Uint8Array): void {
    this.data.set(key, value)
    if (!key.startsWith(DHT_PREFIX)) return
    this.dhtKeys.delete(key)
    this.dhtKeys.add(key)
    while (this.dhtKeys.size > this.maxDhtRecords) {
      const oldest = this.dhtKeys.values().next().value as string
      this.dhtKeys.delete(oldest)
      this.data.delete(oldest)
      this.changed(new Key(oldest))
    }
  }

  /** how many DHT records are held */
  get dhtRecords (): number {
    return this.dhtKeys.size
  }

  override get (key: Key, options?: AbortOptions): Uint8Array {
    options?.signal?.throwIfAborted()
    const value = this.data.get(key.toString())
    if (value === undefined) throw new NotFoundError()
    return value
  }

  override has (key: Key, options?: AbortOptions): boolean {
    options?.signal?.throwIfAborted()
    return this.data.has(key.toString())
  }

  override delete (key: Key, options?: AbortOptions): void {
    options?.signal?.throwIfAborted()
    this.data.delete(key.toString())
    this.dhtKeys.delete(key.toString())
    this.changed(key)
  }

  override * _all (_q: Query, options?: AbortOptions): Generator<Pair> {
    for (const [key, value] of [...this.data]) {
      options?.signal?.throwIfAborted()
      yield { key: new Key(key), value }
    }
  }

  override * _allKeys (_q: KeyQuery, options?: AbortOptions): Generator<Key> {
    for (const key of [...this.data.keys()]) {
      options?.signal?.throwIfAborted()
      yield new Key(key)
    }
  }

  /** how many keys changed since the last write to disk */
  get unflushed (): number {
    return this.dirty.size
  }

  /** Writes every change so far to disk (in the order flushes were asked for). */
  async flush (): Promise<void> {
    const next = this.flushing.then(async () => {
      if (this.dirty.size === 0) return
      const keys = [...this.dirty]
      this.dirty.clear()
      const batch = this.disk.batch()
      for (const key of keys) {
        const value = this.data.get(key)
        if (value === undefined) batch.delete(new Key(key))
        else batch.put(new Key(key), value)
      }
      try {
        await batch.commit()
      } catch (err) {
        for (const key of keys) this.dirty.add(key)
        throw err
      }
    })
    this.flushing = next.catch(() => undefined)
    await next
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
    await this.flush()
    await this.disk.close()
  }

  private changed (key: Key): void {
    this.dirty.add(key.toString())
    this.flushLater()
  }

  /** A flush that failed keeps its changes and is tried again a moment later. */
  private flushLater (): void {
    if (this.timer !== undefined || this.closed) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.flush().catch(() => { this.flushLater() })
    }, this.flushEveryMs)
    this.timer.unref()
  }
}
