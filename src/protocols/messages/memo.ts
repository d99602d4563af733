/**
 * Memos keyed by a value's JSON text. Parsing and hashing a message are pure functions of its
 * content, and one message is checked many times (by the node that builds it, the one that signs
 * it, each receiver, and again when it comes back attached to another message): each is done once.
 */

/** At most `limit` entries; the oldest go first. */
export class BoundedMemo<V> {
  private readonly entries = new Map<string, V>()
  constructor (public limit: number) {}

  get (key: string): V | undefined {
    return this.entries.get(key)
  }

  set (key: string, value: V): void {
    if (this.entries.size >= this.limit) {
      const keys = this.entries.keys()
      while (this.entries.size >= Math.max(1, this.limit)) this.entries.delete(keys.next().value as string)
    }
    this.entries.set(key, value)
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
