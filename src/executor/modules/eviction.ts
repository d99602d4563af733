import { stat } from 'node:fs/promises'
import { dirSize } from './dir-size.ts'

export interface CacheEntry {
  path: string
  remove: () => Promise<void>
}

/**
 * Removes entries, least recently used first (by their folder's modification time, which a use
 * sets), until what is left holds at most `maxBytes`; entries in `keep` stay whatever they weigh.
 */
export async function evictLeastRecentlyUsed (entries: CacheEntry[], maxBytes: number, keep: Set<string>): Promise<void> {
  const sized = await Promise.all(entries.map(async e => {
    const st = await stat(e.path).catch(() => null)
    return { ...e, usedAt: st?.mtimeMs ?? 0, bytes: st === null ? 0 : await dirSize(e.path) }
  }))
  let total = sized.reduce((sum, e) => sum + e.bytes, 0)
  const oldestFirst = sized.filter(e => !keep.has(e.path)).sort((a, b) => a.usedAt - b.usedAt)
  for (const e of oldestFirst) {
    if (total <= maxBytes) return
    await e.remove()
    total -= e.bytes
  }
}
