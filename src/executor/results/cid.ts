import { createReadStream } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { importer, type ImportCandidate, type WritableStorage } from 'ipfs-unixfs-importer'
import { CID } from 'multiformats/cid'
import { ResultsError } from './errors.ts'

/**
 * The settings that reproduce `ipfs add -r` with kubo's defaults: CIDv0, dag-pb leaves (no raw
 * leaves), 256 KiB fixed-size chunks, a balanced DAG with at most 174 links a node.
 */
export const IPFS_ADD_DEFAULTS = { profile: 'unixfs-v0-2015' } as const

/** A blockstore that keeps nothing: for computing a CID without storing blocks. */
const discard: WritableStorage = { put: async (cid) => cid }

export interface CidOptions {
  /** where the blocks go (e.g. the node's results blockstore); by default they are discarded */
  blockstore?: WritableStorage
}

/** The CID `ipfs add` prints for these bytes. */
export async function cidOfBytes (bytes: Uint8Array, options: CidOptions = {}): Promise<CID> {
  const entries = importer([{ content: bytes }], options.blockstore ?? discard, IPFS_ADD_DEFAULTS)
  let root: CID | undefined
  for await (const entry of entries) root = entry.cid
  if (root === undefined) throw new ResultsError('RESULTS_UNSUPPORTED_ENTRY', 'the importer produced no CID')
  return root
}

/**
 * The CID `ipfs add -r <path>` prints for a file or folder. Like `ipfs add` without `--hidden`,
 * names starting with a dot are left out. Symbolic links and special files are refused, so a
 * results folder means the same thing on every machine.
 */
export async function cidOfPath (path: string, options: CidOptions = {}): Promise<CID> {
  const info = await statOrThrow(path)
  const name = basename(path) || 'root'
  const candidates = info.isDirectory() ? walk(path, name) : single(path, name, info)
  let root: CID | undefined
  for await (const entry of importer(candidates, options.blockstore ?? discard, IPFS_ADD_DEFAULTS)) {
    // the importer yields children first; the entry with the bare top name is the root
    if (entry.path === name) root = entry.cid
  }
  if (root === undefined) throw new ResultsError('RESULTS_UNSUPPORTED_ENTRY', `no CID came out for ${path}`)
  return root
}

async function statOrThrow (path: string): Promise<Awaited<ReturnType<typeof lstat>>> {
  try {
    return await lstat(path)
  } catch (err) {
    throw new ResultsError('RESULTS_NOT_A_DIRECTORY', `cannot read ${path}: ${(err as Error).message}`, { cause: err })
  }
}

async function * single (path: string, name: string, info: Awaited<ReturnType<typeof lstat>>): AsyncGenerator<ImportCandidate> {
  if (!info.isFile()) throw unsupported(path)
  yield { path: name, content: createReadStream(path) }
}

async function * walk (dir: string, prefix: string): AsyncGenerator<ImportCandidate> {
  const entries = (await readdir(dir, { withFileTypes: true }))
    .filter(e => !e.name.startsWith('.'))
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
  yield { path: prefix }
  for (const entry of entries) {
    const full = join(dir, entry.name)
    const path = `${prefix}/${entry.name}`
    if (entry.isDirectory()) yield * walk(full, path)
    else if (entry.isFile()) yield { path, content: createReadStream(full) }
    else throw unsupported(full)
  }
}

function unsupported (path: string): ResultsError {
  return new ResultsError('RESULTS_UNSUPPORTED_ENTRY', `${path} is neither a regular file nor a folder (links and devices are not allowed in results)`)
}

/** Parses a CID string, with a clear error for garbage. */
export function parseCid (text: string): CID {
  try {
    return CID.parse(text.trim())
  } catch (err) {
    throw new ResultsError('RESULTS_BAD_CID', `not a CID: ${JSON.stringify(text)}`, { cause: err })
  }
}
