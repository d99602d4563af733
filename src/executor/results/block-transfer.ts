/**
 * Small results in one round trip: the party that fetches results asks their holder for every
 * block of the DAG under a root CID, and the holder answers with the blocks, a level at a time,
 * on one stream. Over bitswap the same folder costs a want and a block per DAG level, each on
 * streams of their own (a cowsay result is three levels deep).
 *
 * Nothing is taken on trust: a block is kept only if its bytes hash to its CID and its CID is the
 * root or a link of a block kept before it, so a holder can send nothing but the DAG asked for.
 * What the holder does not send (it lacks a block, or the DAG is over `MAX_BYTES`) the caller then
 * fetches over bitswap.
 *
 * Frames are length-prefixed: the request is the root CID's bytes; each answer frame is a block's
 * CID bytes followed by the block; an empty frame ends the answer. A peer asking more than
 * `requestsPerSecond` times a second gets empty answers (a few bytes asked, megabytes sent back).
 */
import { createHash } from 'node:crypto'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream, RateLimiter } from '@libp2p/utils'
import type { Blockstore } from 'interface-blockstore'
import { CID } from 'multiformats/cid'
import { linksOf } from './prefetch.ts'

export const RESULTS_BLOCKS_PROTOCOL = '/lilypad/results-blocks/1.0.0'

/** the most block bytes one answer carries; larger results go over bitswap */
export const MAX_BYTES = 4 * 1024 * 1024
const SHA2_256 = 0x12
/** a frame: CID bytes (well under 100) and a block (UnixFS chunks are at most 1 MiB) */
const MAX_FRAME = 1024 * 1024 + 1024

async function readBlock (blockstore: Pick<Blockstore, 'get'>, cid: CID, signal?: AbortSignal): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of blockstore.get(cid, { signal })) chunks.push(chunk)
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
}

/**
 * The blocks of the DAG under `root` that the blockstore holds, a level at a time, until the next
 * would pass `MAX_BYTES`. A block it lacks is skipped, and so are the blocks below it.
 */
async function * heldBlocks (root: CID, blockstore: Pick<Blockstore, 'get' | 'has'>, signal: AbortSignal): AsyncGenerator<[CID, Uint8Array]> {
  const seen = new Set<string>()
  let level = [root]
  let bytes = 0
  while (level.length > 0) {
    const next: CID[] = []
    for (const cid of level) {
      if (seen.has(cid.toString()) || !(await blockstore.has(cid))) continue
      seen.add(cid.toString())
      const block = await readBlock(blockstore, cid, signal)
      bytes += block.length
      if (bytes > MAX_BYTES) return
      yield [cid, block]
      next.push(...linksOf(cid, block))
    }
    level = next
  }
}

/** Answers requests for the blocks under a root, from the node's results blockstore. */
export async function serveBlocks (libp2p: Libp2p, blockstore: Pick<Blockstore, 'get' | 'has'>, options: { requestsPerSecond?: number } = {}): Promise<void> {
  const limiter = new RateLimiter({ points: options.requestsPerSecond ?? 10, duration: 1 })
  await libp2p.handle(RESULTS_BLOCKS_PROTOCOL, async (stream: Stream, connection: Connection) => {
    const signal = AbortSignal.timeout(30_000)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
    try {
      const root = CID.decode((await lp.read({ signal })).subarray())
      if (withinRate(limiter, connection.remotePeer)) {
        for await (const [cid, block] of heldBlocks(root, blockstore, signal)) await lp.write(Buffer.concat([cid.bytes, block]), { signal })
      }
      await lp.write(new Uint8Array(0), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }, { maxInboundStreams: 32 })
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
 * Asks `holder` for the blocks under `root` and puts those that check out into `blockstore`.
 * Returns true when the whole DAG came (every block linked from the root). Throws when the holder
 * cannot be asked or breaks the protocol (the blocks kept before that stay: they are the DAG's).
 */
export async function fetchBlocks (libp2p: Libp2p, holder: PeerId, root: CID, blockstore: Pick<Blockstore, 'put'>, signal: AbortSignal): Promise<boolean> {
  const stream = await libp2p.dialProtocol(holder, RESULTS_BLOCKS_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: MAX_FRAME })
  const expected = new Set([root.toString()])
  const puts: Array<Promise<unknown>> = []
  let bytes = 0
  try {
    await lp.write(root.bytes, { signal })
    for (;;) {
      const frame = (await lp.read({ signal })).subarray()
      if (frame.length === 0) break
      const [cid, block] = CID.decodeFirst(frame)
      bytes += block.length
      if (bytes > MAX_BYTES) throw new Error(`the holder sent more than ${MAX_BYTES} bytes of blocks`)
      if (!expected.delete(cid.toString())) throw new Error(`the holder sent block ${cid}, which no block before it links to`)
      if (cid.multihash.code !== SHA2_256 || !createHash('sha256').update(block).digest().equals(cid.multihash.digest)) {
        throw new Error(`block ${cid} does not hash to its CID`)
      }
      puts.push(Promise.resolve(blockstore.put(cid, block, { signal })))
      for (const link of linksOf(cid, block)) expected.add(link.toString())
    }
    await stream.close({ signal }).catch(() => undefined)
    await Promise.all(puts)
    return expected.size === 0
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    await Promise.allSettled(puts)
    throw err
  }
}
