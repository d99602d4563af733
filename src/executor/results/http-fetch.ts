/**
 * Fetches results from a node's results gateway (gateway.ts) a block at a time, checking each
 * block against its CID before it is used: the gateway need not be trusted, only reached.
 */
import { createHash } from 'node:crypto'
import type { Blockstore } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import { ResultsError } from './errors.ts'
import { exportVerified } from './export.ts'
import { RAW_BLOCK } from './gateway.ts'

const SHA2_256 = 0x12
const IDENTITY = 0x00
/** the largest block a results DAG holds (the importer's chunks are 256 KiB) */
const MAX_BLOCK_BYTES = 2 * 1024 * 1024

export interface HttpFetchOptions {
  /** most bytes of file content the results may hold */
  maxBytes: number
  signal?: AbortSignal
  /** headers every request carries (a node API's bearer token) */
  headers?: Record<string, string>
}

/** A read-only blockstore over a gateway's `GET /ipfs/<cid>?format=raw`, verifying every block. */
export function gatewayBlocks (gateway: string, signal?: AbortSignal, headers: Record<string, string> = {}): Pick<Blockstore, 'get'> {
  const base = gateway.replace(/\/+$/, '')
  return {
    get: async function * (cid: CID) {
      if (cid.multihash.code === IDENTITY) { yield cid.multihash.digest; return }
      let response: Response
      try {
        response = await fetch(`${base}/ipfs/${cid}?format=raw`, { headers: { ...headers, accept: RAW_BLOCK }, signal })
      } catch (err) {
        throw new ResultsError('RESULTS_FETCH_FAILED', `no results gateway answers at ${base}: ${(err as Error).message}`, { cause: err })
      }
      if (!response.ok) throw new ResultsError('RESULTS_FETCH_FAILED', `${base} answered ${response.status} for block ${cid}`)
      const declared = Number(response.headers.get('content-length') ?? 0)
      if (declared > MAX_BLOCK_BYTES) throw new ResultsError('RESULTS_FETCH_FAILED', `${base} offers block ${cid} of ${declared} bytes, more than a block may hold`)
      const block = new Uint8Array(await response.arrayBuffer())
      if (block.length > MAX_BLOCK_BYTES) throw new ResultsError('RESULTS_FETCH_FAILED', `${base} sent more than a block may hold for ${cid}`)
      if (cid.multihash.code !== SHA2_256 || !createHash('sha256').update(block).digest().equals(cid.multihash.digest)) {
        throw new ResultsError('RESULTS_FETCH_FAILED', `${base} sent a block that does not hash to ${cid}: refusing it`)
      }
      yield block
    }
  }
}

/** Writes the results under `cid`, fetched from `gateway`, into `dest`, and checks the folder hashes back to `cid`. */
export async function fetchResultsOverHttp (gateway: string, cid: CID, dest: string, options: HttpFetchOptions): Promise<void> {
  await exportVerified(cid, gatewayBlocks(gateway, options.signal, options.headers), dest, { maxBytes: options.maxBytes, signal: options.signal })
}
