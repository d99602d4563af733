import { createWriteStream } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { exporter, type UnixFSEntry } from 'ipfs-unixfs-exporter'
import type { Blockstore } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import { cidOfPath } from './cid.ts'
import { ResultsError } from './errors.ts'
import { prefetchDag } from './prefetch.ts'

/** Bytes of blocks fetched beyond `maxBytes` of content: the DAG's folders and file nodes. */
export const PREFETCH_ALLOWANCE = 1024 * 1024

export interface ExportOptions {
  /** most bytes of file content written; more aborts the export */
  maxBytes: number
  /** every block is in the blockstore already: nothing to bring first */
  local?: boolean
  signal?: AbortSignal
}

/**
 * Writes the UnixFS DAG under `cid` into `dest` (its contents, not a folder named after the CID),
 * reading blocks from `blockstore` (which may fetch them from the network), then recomputes the
 * folder's CID: only results that hash back to `cid` are kept.
 */
export async function exportVerified (cid: CID, blockstore: Pick<Blockstore, 'get'>, dest: string, options: ExportOptions): Promise<void> {
  await rm(dest, { recursive: true, force: true })
  await mkdir(dest, { recursive: true })
  let written = 0
  const tooLarge = (): ResultsError => new ResultsError('RESULTS_TOO_LARGE', `results ${cid} are larger than the ${options.maxBytes}-byte limit`)
  const write = async (entry: UnixFSEntry, target: string): Promise<void> => {
    if (entry.type === 'directory') {
      await mkdir(target, { recursive: true })
      for await (const child of entry.entries({ signal: options.signal })) {
        await write(await exporter(child.cid, blockstore, { signal: options.signal }), join(target, safeName(child.name, child.path)))
      }
    } else if (entry.type === 'file' || entry.type === 'raw' || entry.type === 'identity') {
      if (written + Number(entry.size) > options.maxBytes) throw tooLarge()
      const chunks = async function * (): AsyncGenerator<Uint8Array> {
        for await (const chunk of entry.content({ signal: options.signal })) {
          written += chunk.length
          if (written > options.maxBytes) throw tooLarge()
          yield chunk
        }
      }
      await pipeline(Readable.from(chunks()), createWriteStream(target))
    } else {
      throw new ResultsError('RESULTS_UNSUPPORTED_ENTRY', `results ${cid} contain a ${entry.type} entry at ${entry.path}`)
    }
  }
  try {
    // blocks may carry a little framing beyond the content the limit is about
    if (options.local !== true) await prefetchDag(cid, blockstore, { maxBytes: options.maxBytes + PREFETCH_ALLOWANCE, signal: options.signal })
    const root = await exporter(cid, blockstore, { signal: options.signal })
    // a folder's contents go straight into dest; a single file becomes dest/result
    const top = root.type === 'directory' ? dest : join(dest, 'result')
    await write(root, top)
    const actual = await cidOfPath(top)
    if (!actual.equals(cid)) {
      throw new ResultsError('RESULTS_FETCH_FAILED', `results exported from ${cid} hash to ${actual}: refusing them`)
    }
  } catch (err) {
    await rm(dest, { recursive: true, force: true })
    throw err
  }
}


/** A directory entry's name, refusing names that could escape the export folder. */
function safeName (name: string, path: string): string {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new ResultsError('RESULTS_BAD_PATH', `results contain an unsafe name: ${JSON.stringify(path)}`)
  }
  return name
}
