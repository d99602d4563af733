/**
 * Bounded memos for the pure work of this layer. Parsing and hashing a message are functions of
 * its content, keyed by its JSON text, and one message is checked many times (by the node that
 * builds it, the one that signs it, each receiver, and again when it comes back attached to
 * another message): each is done once.
 */

/**
 * At most `limit` entries, in two generations: when the newer holds half of them, the older is
 * dropped and the newer becomes the older. (Evicting one oldest entry at a time from a Map costs
 * a scan over the holes its deletions leave, a few microseconds per entry at these sizes.)
 */
export class BoundedMemo<V> {
  private newer = new Map<string, V>()
  private older = new Map<string, V>()
  constructor (public limit: number) {}

  get (key: string): V | undefined {
    const value = this.newer.get(key)
    return value !== undefined ? value : this.older.get(key)
  }

  set (key: string, value: V): void {
    if (this.newer.size >= Math.max(1, this.limit / 2)) {
      this.older = this.newer
      this.newer = new Map()
    }
    this.newer.set(key, value)
  }

  clear (): void {
    this.newer = new Map()
    this.older = new Map()
  }
}

/** The JSON text of a value, or undefined for one JSON cannot write (a bigint, a cycle): not memoised. */
export function jsonKey (value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

/**
 * A map that holds its first entry inline, for the many small maps that mostly keep one entry (a
 * message's id under its one domain, an envelope's one kind of check): a Map each cost a simulation
 * of millions of messages a sizeable share of its memory and collections.
 */
export class SmallMap<V> {
  private firstKey: string | undefined
  private firstValue: V | undefined
  private rest: Map<string, V> | undefined

  get (key: string): V | undefined {
    return key === this.firstKey ? this.firstValue : this.rest?.get(key)
  }

  set (key: string, value: V): void {
    if (this.firstKey === undefined || key === this.firstKey) {
      this.firstKey = key
      this.firstValue = value
    } else {
      (this.rest ??= new Map()).set(key, value)
    }
  }
}
