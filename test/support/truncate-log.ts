/**
 * Cuts a log short as a node that wants to forget its latest records could: a raw delete of every
 * record after `keep`, and of every snapshot, straight in LevelDB. What is left is a valid log of
 * its own; only what lies outside it (a counterparty's messages, the chain) can tell.
 */
import { Level } from 'level'
import { Bucket, seqKey } from '../../src/actors/eventlog/keys.ts'

export async function truncateLog (folder: string, keep: number): Promise<number> {
  const db = new Level<string, string>(folder, { valueEncoding: 'utf8' })
  try {
    const records = db.sublevel<string, string>(Bucket.records, { valueEncoding: 'utf8' })
    const snapshots = db.sublevel<string, string>(Bucket.snapshots, { valueEncoding: 'utf8' })
    let removed = 0
    for await (const key of records.keys({ gt: seqKey(keep) })) {
      await records.del(key)
      removed++
    }
    for await (const key of snapshots.keys()) await snapshots.del(key)
    return removed
  } finally {
    await db.close()
  }
}
