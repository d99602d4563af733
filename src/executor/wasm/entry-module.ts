import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ExecutionError } from '../results/execution.ts'
import { cidOfBytes, parseCid } from '../results/cid.ts'
import { fetchCapped } from './fetch-capped.ts'

/** Bacalhau's StorageSpec as a WASM job's `EntryModule` carries it. */
export interface EntryModuleSpec {
  StorageSource?: string
  CID?: string
  URL?: string
  Path?: string
  [key: string]: unknown
}

export interface ResolveEntryModuleOptions {
  /** folders to look in for a file with the module's CID, e.g. the module's repository */
  searchDirs?: string[]
  /** looks a CID up elsewhere (e.g. the node's blockstore); undefined when unknown */
  byCid?: (cid: string) => Promise<Uint8Array | undefined>
  maxBytes?: number
  /** URL schemes a `URLDownload` entry module may be fetched by (default https only) */
  urlSchemes?: readonly string[]
  /** how long a `URLDownload` fetch may take (default 60 s) */
  urlTimeoutMs?: number
}

const MAX_WASM_BYTES = 64 * 1024 * 1024
const MAX_SEARCH_DEPTH = 4

/**
 * The bytes of a WASM job's entry module, always checked against the CID the spec names:
 * `IPFS` sources come from `byCid` or from a `.wasm` file in `searchDirs` with that CID;
 * `URLDownload` sources are fetched from their URL, capped at `maxBytes`, and must hash to their
 * CID (the spec, which the offer's hash pins, names the bytes and not only where they were);
 * `Inline` sources are `data:` URLs.
 */
export async function resolveEntryModule (spec: EntryModuleSpec, options: ResolveEntryModuleOptions = {}): Promise<Uint8Array> {
  const source = (spec.StorageSource ?? (spec.CID !== undefined ? 'IPFS' : '')).toLowerCase()
  if (source === 'inline' && typeof spec.URL === 'string') return decodeDataUrl(spec.URL)
  if (source === 'urldownload' || source === 'url') return await fromUrl(spec, options)
  if (source !== 'ipfs' || typeof spec.CID !== 'string') {
    throw new ExecutionError('WASM_MODULE_NOT_FOUND', `unsupported WASM entry module source ${JSON.stringify(spec)}: use IPFS with a CID, URLDownload with a URL and a CID, or Inline with a data: URL`)
  }
  const want = parseCid(spec.CID).toString()
  const fromStore = await options.byCid?.(want)
  if (fromStore !== undefined && (await cidOfBytes(fromStore)).toString() === want) return fromStore
  const maxBytes = options.maxBytes ?? MAX_WASM_BYTES
  for (const dir of options.searchDirs ?? []) {
    const hinted = typeof spec.Path === 'string' && !spec.Path.includes('..') ? [join(dir, spec.Path)] : []
    for (const file of [...hinted, ...await wasmFiles(dir, MAX_SEARCH_DEPTH)]) {
      const bytes = await readSmallFile(file, maxBytes)
      if (bytes !== undefined && (await cidOfBytes(bytes)).toString() === want) return bytes
    }
  }
  throw new ExecutionError('WASM_MODULE_NOT_FOUND', `no WASM module with CID ${want} found${options.searchDirs?.length ? ` in ${options.searchDirs.join(', ')}` : ''}`)
}

async function fromUrl (spec: EntryModuleSpec, options: ResolveEntryModuleOptions): Promise<Uint8Array> {
  if (typeof spec.URL !== 'string' || spec.URL === '') throw new ExecutionError('BAD_JOB_SPEC', 'a URLDownload entry module needs a URL')
  if (typeof spec.CID !== 'string' || spec.CID === '') {
    throw new ExecutionError('BAD_JOB_SPEC', `the entry module at ${spec.URL} names no CID: a job must pin the bytes it runs, not only where they are`)
  }
  const want = parseCid(spec.CID).toString()
  const bytes = await fetchCapped(spec.URL, {
    maxBytes: options.maxBytes ?? MAX_WASM_BYTES,
    schemes: options.urlSchemes ?? ['https'],
    timeoutMs: options.urlTimeoutMs ?? 60_000
  })
  const got = (await cidOfBytes(bytes)).toString()
  if (got !== want) throw new ExecutionError('WASM_MODULE_NOT_FOUND', `the entry module at ${spec.URL} is ${got}, not the ${want} the spec names`)
  return bytes
}

async function wasmFiles (dir: string, depth: number): Promise<string[]> {
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch {
    return []
  }
  const found: string[] = []
  for (const e of entries) {
    if (e.name.startsWith('.')) continue
    const full = join(dir, e.name)
    if (e.isFile() && e.name.endsWith('.wasm')) found.push(full)
    else if (e.isDirectory() && depth > 0) found.push(...await wasmFiles(full, depth - 1))
  }
  return found
}

async function readSmallFile (path: string, maxBytes: number): Promise<Uint8Array | undefined> {
  try {
    const info = await stat(path)
    if (!info.isFile() || info.size > maxBytes) return undefined
    return new Uint8Array(await readFile(path))
  } catch {
    return undefined
  }
}

function decodeDataUrl (url: string): Uint8Array {
  const match = /^data:[^,]*?(;base64)?,(.*)$/s.exec(url)
  if (match === null) throw new ExecutionError('WASM_MODULE_NOT_FOUND', 'an Inline entry module needs a data: URL')
  return match[1] !== undefined ? new Uint8Array(Buffer.from(match[2]!, 'base64')) : new TextEncoder().encode(decodeURIComponent(match[2]!))
}
