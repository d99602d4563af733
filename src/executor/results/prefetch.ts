import * as dagPb from '@ipld/dag-pb'
import type { Blockstore } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import { ResultsError } from './errors.ts'

/** Blocks asked for at once (of a results gateway, over HTTP). */
const BATCH = 64

/** The blocks a block links to: a folder's or file's children; none for a raw leaf. */
export function linksOf (cid: CID, block: Uint8Array): CID[] {
  return cid.code === dagPb.code ? dagPb.decode(block).Links.map(link => link.Hash) : []
}

export interface PrefetchOptions {
  /** most bytes of blocks fetched; more aborts the prefetch */
  maxBytes: number
  signal?: AbortSignal
}

/**
 * Brings every block of the DAG under `root` into the blockstore a level at a time, asking for all
 * of a level's blocks at once. The UnixFS exporter reads a folder's entries one after another, so
 * from a remote store a folder of N files costs N + 1 round trips; prefetched, it costs one per
 * level (two for a flat folder), and the export then reads local blocks.
 */
export async function prefetchDag (root: CID, blockstore: Pick<Blockstore, 'get'>, options: PrefetchOptions): Promise<void> {
  const seen = new Set<string>([root.toString()])
  let level: CID[] = [root]
  let bytes = 0
  while (level.length > 0) {
    const next: CID[] = []
    for (let i = 0; i < level.length; i += BATCH) {
      await Promise.all(level.slice(i, i + BATCH).map(async cid => {
        // only a folder or file node is decoded for its links; a leaf's bytes are just counted
        const links = cid.code === dagPb.code
        const chunks: Uint8Array[] = []
        for await (const chunk of blockstore.get(cid, { signal: options.signal })) {
          bytes += chunk.length
          if (bytes > options.maxBytes) throw new ResultsError('RESULTS_TOO_LARGE', `results ${root} hold more than ${options.maxBytes} bytes of blocks`)
          if (links) chunks.push(chunk)
        }
        if (!links) return
        for (const link of linksOf(cid, Buffer.concat(chunks))) {
          const key = link.toString()
          if (seen.has(key)) continue
          seen.add(key)
          next.push(link)
        }
      }))
    }
    level = next
  }
}
