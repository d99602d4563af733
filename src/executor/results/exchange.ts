import { join } from 'node:path'
import { withBitswap } from '@helia/bitswap'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { createHeliaLight, type Helia } from 'helia'
import type { CID } from 'multiformats/cid'
import { fetchBlocks, serveBlocks, stopServingBlocks } from './block-transfer.ts'
import { ResultsError } from './errors.ts'
import { exportVerified, PREFETCH_ALLOWANCE } from './export.ts'
import { prefetchDag } from './prefetch.ts'
import type { ResultsStore } from './store.ts'
import type { Service } from '../../support/lifecycle.ts'

export interface ResultsExchangeOptions {
  /** most bytes a fetched result may hold */
  maxBytes?: number
  /** how long a whole fetch may take */
  timeoutMs?: number
}

export interface FetchResultsOptions {
  dealId: string
  /** the peer that holds the results (dialled first); otherwise any connected peer is asked */
  from?: PeerId | Multiaddr | Multiaddr[]
  /**
   * the peer that holds the results, asked alone first (every block on one stream, then a bitswap
   * session with it): plain bitswap sends its wants to every connected peer, each answer (mostly
   * "do not have") costing a stream on both sides, a level of the DAG at a time
   */
  holder?: PeerId
  maxBytes?: number
  timeoutMs?: number
  signal?: AbortSignal
}

/**
 * Bitswap waits this long after a want before sending its want list (its default is 10 ms). The
 * results prefetch asks for a whole DAG level at once, so there is nothing to gather: each level
 * of a results folder cost the full wait, on the job's critical path.
 */
const WANTLIST_DEBOUNCE_MS = 1
/** how long the holder alone is asked for the results (over bitswap; on its own stream, for each block) before every connected peer is */
const HOLDER_ALONE_MS = 2_000

const DEFAULTS = { maxBytes: 1024 * 1024 * 1024, timeoutMs: 10 * 60_000 }
const DEAL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/

/**
 * Serves and fetches results by CID over the node's own libp2p: a Helia node with only bitswap,
 * built on the libp2p the caller passes in (no transports or services of its own) and on the
 * node's persistent results blockstore. Fetched blocks are checked against their CIDs by Helia,
 * and the exported folder is hashed again before it is kept.
 */
export class ResultsExchange implements Service {
  private helia: Helia | undefined
  private readonly options: Required<ResultsExchangeOptions>

  constructor (private readonly libp2p: Libp2p, readonly store: ResultsStore, options: ResultsExchangeOptions = {}) {
    this.options = { ...DEFAULTS, ...options }
  }

  async start (): Promise<void> {
    if (this.helia !== undefined) return
    const helia = createHeliaLight({ blockstore: this.store.blockstore, datastore: new MemoryDatastore() })
    Object.defineProperty(helia, 'libp2p', { value: this.libp2p, enumerable: true })
    withBitswap(helia as Parameters<typeof withBitswap>[0], { sendWantlistDebounce: WANTLIST_DEBOUNCE_MS })
    await helia.start()
    await serveBlocks(this.libp2p, this.store.blockstore)
    this.helia = helia
  }

  async stop (): Promise<void> {
    const helia = this.helia
    this.helia = undefined
    if (helia !== undefined) await stopServingBlocks(this.libp2p).catch(() => undefined)
    // stopping Helia must not stop the node's libp2p, which Helia did not start
    await helia?.stop()
  }

  /** Where fetched results of a deal are kept: `<DATA_DIR>/downloaded-files/<deal-id>/`. */
  downloadDir (dealId: string): string {
    if (!DEAL_ID.test(dealId) || dealId === '.' || dealId === '..') {
      throw new ResultsError('RESULTS_BAD_PATH', `deal id ${JSON.stringify(dealId)} cannot name a folder`)
    }
    return join(this.store.dataDir, 'downloaded-files', dealId)
  }

  /** Fetches results by CID, verifies them, and exports them to the deal's download folder. */
  async fetch (cid: CID, options: FetchResultsOptions): Promise<string> {
    const helia = this.helia
    if (helia === undefined) throw new ResultsError('RESULTS_FETCH_FAILED', 'the results exchange is not started')
    const dest = this.downloadDir(options.dealId)
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
    try {
      if (options.from !== undefined) await this.libp2p.dial(options.from, { signal })
      const maxBytes = options.maxBytes ?? this.options.maxBytes
      const whole = options.holder !== undefined && await this.fetchFromHolder(helia, cid, options.holder, maxBytes, signal)
      await exportVerified(cid, helia.blockstore, dest, { maxBytes, signal, local: whole })
      return dest
    } catch (err) {
      if (timeout.aborted) throw new ResultsError('RESULTS_FETCH_TIMEOUT', `results ${cid} did not arrive within ${timeoutMs} ms`, { cause: err })
      if (err instanceof ResultsError) throw err
      if (options.signal?.aborted) throw new ResultsError('RESULTS_FETCH_FAILED', `fetching results ${cid} was cancelled`, { cause: err })
      throw new ResultsError('RESULTS_FETCH_FAILED', `cannot fetch results ${cid}: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * Brings the DAG into the blockstore from its holder alone: first every block it lacks on one
   * stream (block-transfer.ts), then, for whatever that did not bring, through a bitswap session
   * with that one peer. Whatever this cannot bring (a holder not connected, or not answering
   * within `HOLDER_ALONE_MS`) the export then asks of every connected peer; results too large end it.
   * Returns true when every block came in the first step.
   */
  private async fetchFromHolder (helia: Helia, cid: CID, holder: PeerId, maxBytes: number, signal: AbortSignal): Promise<boolean> {
    // the stream goes on as long as blocks come, each within the wait, however large the DAG
    if (await fetchBlocks(this.libp2p, holder, cid, this.store.blockstore, signal, { maxBytes: maxBytes + PREFETCH_ALLOWANCE, idleMs: HOLDER_ALONE_MS }).catch(() => false)) return true
    const alone = AbortSignal.any([signal, AbortSignal.timeout(HOLDER_ALONE_MS)])
    const session = helia.blockstore.createSession(cid, { providers: [holder.toCID()], signal })
    try {
      await prefetchDag(cid, session, { maxBytes: maxBytes + PREFETCH_ALLOWANCE, signal: alone })
    } catch (err) {
      if (err instanceof ResultsError) throw err
    } finally {
      session.close()
    }
    return false
  }
}
