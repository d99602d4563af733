/**
 * Results and input data in one stream from their holder: the party that fetches asks the holder
 * for every block of the DAG under the roots it lacks, and the holder answers with the blocks, a
 * level at a time, on one stream. Over bitswap the same folder cost a want and a block per DAG
 * level, each on streams of their own, and a large file a round trip per batch of its chunks: a
 * few MB/s where this carries what the link carries.
 *
 * Nothing is taken on trust: a block is kept only if its bytes hash to its CID and its CID is one
 * asked for or a link of a block kept before it, so a holder can send nothing but the DAG asked
 * for. A fetch that stops half way (a timeout, a holder that restarts) is taken up again where it
 * stopped: the next asks only for the subtrees whose roots are still missing here. What the holder
 * does not send (it lacks a block, or the DAG is over its `maxBytes`) the caller asks of it again, or
 * of other peers (exchange.ts).
 *
 * Frames are length-prefixed: the request is one frame per root CID's bytes and an empty frame;
 * each answer frame is a block's CID bytes followed by the block; an empty frame ends the answer. A
 * peer asking more than `requestsPerSecond` times a second gets empty answers (a few bytes asked,
 * megabytes sent back).
 */
import { createHash } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream, RateLimiter } from '@libp2p/utils'
import type { Blockstore } from 'interface-blockstore'
import { openProtocolStream } from '../../support/protocol-stream.ts'
import { CID } from 'multiformats/cid'
import { ResultsError } from './errors.ts'
import { linksOf } from './prefetch.ts'

export const RESULTS_BLOCKS_PROTOCOL = '/lilypad/results-blocks/1.1.0'

/** the most block bytes a holder sends for one request by default: the largest results or input, and its DAG's nodes */
export const MAX_BYTES = 1024 * 1024 * 1024 + 16 * 1024 * 1024
/** the most roots one request names */
const MAX_ROOTS = 4096
const SHA2_256 = 0x12
/** a frame: CID bytes (well under 100) and a block (UnixFS chunks are at most 1 MiB) */
const MAX_FRAME = 1024 * 1024 + 1024
/** how long the fetching side waits for the holder's next frame */
const IDLE_MS = 10_000
/** blocks being written to the blockstore at once: a disk slower than the link holds the stream, not memory */
const PUTS_IN_FLIGHT = 16

/** A block's bytes, whole (a blockstore yields them in chunks). */
export async function readBlock (blockstore: Pick<Blockstore, 'get'>, cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of blockstore.get(cid, { signal })) chunks.push(chunk)
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/**
 * The blocks of the DAGs under `roots` that the blockstore holds, a level at a time, until the next
 * would pass `maxBytes`. A block it lacks is skipped, and so are the blocks below it.
 */
async function * heldBlocks (roots: CID[], blockstore: Pick<Blockstore, 'get' | 'has'>, maxBytes: number, signal: AbortSignal): AsyncGenerator<[CID, Uint8Array]> {
  const seen = new Set<string>()
  let level = roots
  let bytes = 0
  while (level.length > 0) {
    const next: CID[] = []
    for (const cid of level) {
      if (seen.has(cid.toString()) || !(await blockstore.has(cid))) continue
      seen.add(cid.toString())
      const block = await readBlock(blockstore, cid, signal)
      bytes += block.length
      if (bytes > maxBytes) return
      yield [cid, block]
      next.push(...linksOf(cid, block))
    }
    level = next
  }
}

/** Answers requests for the blocks under roots, from the node's results blockstore, up to `maxBytes` (default MAX_BYTES) a request. */
export async function serveBlocks (libp2p: Libp2p, blockstore: Pick<Blockstore, 'get' | 'has'>, options: { requestsPerSecond?: number, maxBytes?: number } = {}): Promise<void> {
  const limiter = new RateLimiter({ points: options.requestsPerSecond ?? 10, duration: 1 })
  // a holder behind a NAT answers through a relay, within the relay's limits (protocols/mesh/relay.ts)
  await libp2p.handle(RESULTS_BLOCKS_PROTOCOL, async (stream: Stream, connection: Connection) => {
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    // ends the blockstore reads of an answer the stream no longer carries
    const answering = new AbortController()
    try {
      const roots: CID[] = []
      for (;;) {
        const frame = (await lp.read({ signal: AbortSignal.timeout(IDLE_MS) })).subarray()
        if (frame.length === 0) break
        if (roots.length === MAX_ROOTS) throw new Error(`a request names more than ${MAX_ROOTS} roots`)
        roots.push(CID.decode(frame))
      }
      if (withinRate(limiter, connection.remotePeer)) {
        // each frame may wait as long as the reader takes to read the one before (a slow link, a slow disk)
        for await (const [cid, block] of heldBlocks(roots, blockstore, options.maxBytes ?? MAX_BYTES, answering.signal)) {
          await lp.write(Buffer.concat([cid.bytes, block]), { signal: AbortSignal.timeout(IDLE_MS) })
        }
      }
      await lp.write(new Uint8Array(0), { signal: AbortSignal.timeout(IDLE_MS) })
      await stream.close({ signal: AbortSignal.timeout(IDLE_MS) })
    } catch (err) {
      answering.abort()
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }, { maxInboundStreams: 32, runOnLimitedConnection: true })
}

function withinRate (limiter: RateLimiter, peer: PeerId): boolean {
  try {
    limiter.consume(peer.toString())
    return true
  } catch {
    return false
  }
}

export async function stopServingBlocks (libp2p: Libp2p): Promise<void> {
  await libp2p.unhandle(RESULTS_BLOCKS_PROTOCOL)
}

/**
 * The roots of what the DAG under `root` still lacks here: `root` itself when it is missing, else
 * the missing links of the blocks held, level by level (at most MAX_ROOTS of them).
 */
async function missingRoots (root: CID, blockstore: Pick<Blockstore, 'get' | 'has'>, signal: AbortSignal): Promise<CID[]> {
  const missing: CID[] = []
  const seen = new Set<string>()
  let level = [root]
  while (level.length > 0 && missing.length < MAX_ROOTS) {
    const next: CID[] = []
    for (const cid of level) {
      if (seen.has(cid.toString())) continue
      seen.add(cid.toString())
      if (!(await blockstore.has(cid))) {
        missing.push(cid)
        if (missing.length === MAX_ROOTS) break
        continue
      }
      // a raw leaf links nothing: only folder and file nodes are read
      if (cid.code !== dagPb.code) continue
      next.push(...linksOf(cid, await readBlock(blockstore, cid, signal)))
    }
    level = next
  }
  return missing
}

/** The block bytes taken so far, by one fetch or by several that share it. */
export interface Taken { bytes: number }

export interface FetchBlocksOptions {
  /** most block bytes taken, counting those `taken` counted before; more ends the fetch (default MAX_BYTES) */
  maxBytes?: number
  /** where the bytes taken are counted: share it among the fetches of one DAG from several peers */
  taken?: Taken
  /** how long the dial, and then each frame, may take (default 10 s) */
  idleMs?: number
}

/**
 * Asks `holder` for the blocks under `root` that are not here yet and puts those that check out
 * into `blockstore`. Returns true when the whole DAG is here (every block linked from the root).
 * Throws when the holder cannot be asked, goes quiet, or breaks the protocol (the blocks kept
 * before that stay: they are the DAG's, and a later fetch asks only for the rest).
 */
export async function fetchBlocks (libp2p: Libp2p, holder: PeerId, root: CID, blockstore: Pick<Blockstore, 'put' | 'get' | 'has'>, signal: AbortSignal, options: FetchBlocksOptions = {}): Promise<boolean> {
  const roots = await missingRoots(root, blockstore, signal)
  if (roots.length === 0) return true
  const maxBytes = options.maxBytes ?? MAX_BYTES
  const idle = (): AbortSignal => AbortSignal.any([signal, AbortSignal.timeout(options.idleMs ?? IDLE_MS)])
  const stream = await openProtocolStream(libp2p, holder, RESULTS_BLOCKS_PROTOCOL, idle())
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
  const expected = new Set(roots.map(cid => cid.toString()))
  const puts: Array<Promise<unknown>> = []
  const taken = options.taken ?? { bytes: 0 }
  try {
    for (const cid of roots) await lp.write(cid.bytes, { signal })
    await lp.write(new Uint8Array(0), { signal })
    for (;;) {
      const frame = (await lp.read({ signal: idle() })).subarray()
      if (frame.length === 0) break
      const [cid, block] = CID.decodeFirst(frame)
      if (!expected.delete(cid.toString())) throw new Error(`the holder sent block ${cid}, which no block before it links to`)
      if (cid.multihash.code !== SHA2_256 || !createHash('sha256').update(block).digest().equals(cid.multihash.digest)) {
        throw new Error(`block ${cid} does not hash to its CID`)
      }
      // only the DAG's own blocks count: a peer that sends others is refused above, not the results
      taken.bytes += block.length
      if (taken.bytes > maxBytes) throw new ResultsError('RESULTS_TOO_LARGE', `results ${root} hold more than ${maxBytes} bytes of blocks`)
      puts.push(Promise.resolve(blockstore.put(cid, block, { signal })))
      if (puts.length >= PUTS_IN_FLIGHT) await puts.shift()
      for (const link of linksOf(cid, block)) expected.add(link.toString())
    }
    await stream.close({ signal }).catch(() => undefined)
    await Promise.all(puts)
    return expected.size === 0 || (await missingRoots(root, blockstore, signal)).length === 0
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    await Promise.allSettled(puts)
    throw err
  }
}
