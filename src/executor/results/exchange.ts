import { join } from 'node:path'
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { CID } from 'multiformats/cid'
import { fetchBlocks, serveBlocks, stopServingBlocks, type Taken } from './block-transfer.ts'
import { ResultsError } from './errors.ts'
import { exportVerified, PREFETCH_ALLOWANCE } from './export.ts'
import type { ResultsStore } from './store.ts'
import { delay } from '../../support/delay.ts'
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
  /** the peer that holds the results: asked first, and again as long as it brings more */
  holder?: PeerId
  maxBytes?: number
  timeoutMs?: number
  signal?: AbortSignal
}

/** how long a peer asked for blocks may take to answer, and then between blocks */
const PEER_IDLE_MS = 2_000
/** after every connected peer was asked and the DAG is still not whole, the wait before asking again */
const ROUND_PAUSE_MS = 250

const DEFAULTS = { maxBytes: 1024 * 1024 * 1024, timeoutMs: 10 * 60_000 }
const DEAL_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/

/**
 * Serves and fetches results by CID over the node's own libp2p, with the results blocks protocol
 * (block-transfer.ts) on the node's persistent results blockstore. A fetch asks the holder first,
 * then every connected peer in turn, round after round, until the DAG is whole; every block is
 * checked against its CID as it comes, and the exported folder is hashed again before it is kept.
 *
 * Bitswap (Helia) carried this before: its only JavaScript implementation declares the WebRTC
 * transport as a dependency, and with it React Native, about 200 MB of every install, while a
 * results fetch here always knows its holder and the blocks protocol carries a folder in one stream.
 */
export class ResultsExchange implements Service {
  private started = false
  private readonly options: Required<ResultsExchangeOptions>

  constructor (private readonly libp2p: Libp2p, readonly store: ResultsStore, options: ResultsExchangeOptions = {}) {
    this.options = { ...DEFAULTS, ...options }
  }

  async start (): Promise<void> {
    if (this.started) return
    await serveBlocks(this.libp2p, this.store.blockstore)
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await stopServingBlocks(this.libp2p).catch(() => undefined)
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
    if (!this.started) throw new ResultsError('RESULTS_FETCH_FAILED', 'the results exchange is not started')
    const dest = this.downloadDir(options.dealId)
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout
    try {
      if (options.from !== undefined) await this.libp2p.dial(options.from, { signal })
      const maxBytes = options.maxBytes ?? this.options.maxBytes
      await this.gather(cid, options.holder, maxBytes + PREFETCH_ALLOWANCE, signal)
      await exportVerified(cid, this.store.blockstore, dest, { maxBytes, signal, local: true })
      return dest
    } catch (err) {
      if (timeout.aborted) throw new ResultsError('RESULTS_FETCH_TIMEOUT', `results ${cid} did not arrive within ${timeoutMs} ms`, { cause: err })
      if (err instanceof ResultsError) throw err
      if (options.signal?.aborted) throw new ResultsError('RESULTS_FETCH_FAILED', `fetching results ${cid} was cancelled`, { cause: err })
      throw new ResultsError('RESULTS_FETCH_FAILED', `cannot fetch results ${cid}: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * Brings every block of the DAG under `cid` into the blockstore: from the holder first, then from
   * each connected peer, each asked again as long as it brings more (a peer sends at most its own
   * limit of bytes a request), round after round until the DAG is whole or `signal` ends it. A peer
   * that lacks the blocks, goes quiet or cheats is passed over; blocks over `maxBytes` in all end it.
   */
  private async gather (cid: CID, holder: PeerId | undefined, maxBytes: number, signal: AbortSignal): Promise<void> {
    const taken: Taken = { bytes: 0 }
    for (;;) {
      for (const peer of this.askInTurn(holder)) {
        for (;;) {
          const before = taken.bytes
          try {
            if (await fetchBlocks(this.libp2p, peer, cid, this.store.blockstore, signal, { maxBytes, taken, idleMs: PEER_IDLE_MS })) return
          } catch (err) {
            if (err instanceof ResultsError || signal.aborted) throw err
            break
          }
          if (taken.bytes === before) break
        }
      }
      await delay(ROUND_PAUSE_MS, { signal })
    }
  }

  /** The holder, then the other connected peers: listed only once the holder did not bring it all. */
  private * askInTurn (holder: PeerId | undefined): Generator<PeerId> {
    if (holder !== undefined) yield holder
    for (const peer of this.libp2p.getPeers()) if (holder === undefined || !peer.equals(holder)) yield peer
  }
}

