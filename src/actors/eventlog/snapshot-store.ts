import { seqKey } from './keys.ts'
import type { StringBucket as Bucket } from './event-log.ts'

/** Snapshots are caches of state at a given seq: stored beside the log, never part of its chain. */
export class SnapshotStore {
  constructor (private readonly bucket: Bucket, private readonly keep = 2) {}

  async put (seq: number, value: string): Promise<void> {
    await this.bucket.put(seqKey(seq), value)
    const stale: string[] = []
    let index = 0
    for await (const key of this.bucket.keys({ reverse: true })) {
      if (index++ >= this.keep) stale.push(key)
    }
    if (stale.length > 0) await this.bucket.batch(stale.map(key => ({ type: 'del' as const, key })))
  }

  /** Newest first. */
  async * newestFirst (): AsyncGenerator<{ seq: number, value: string }> {
    for await (const [key, value] of this.bucket.iterator({ reverse: true })) {
      yield { seq: Number(key), value }
    }
  }
}
