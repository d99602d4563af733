import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { cidOfPath } from '../../../src/executor/results/cid.ts'
import { ResultsExchange } from '../../../src/executor/results/exchange.ts'
import { ResultsStore } from '../../../src/executor/results/store.ts'
import { fetchBlocks, RESULTS_BLOCKS_PROTOCOL, serveBlocks } from '../../../src/executor/results/block-transfer.ts'
import { lpStream } from '@libp2p/utils'
import { MemoryBlockstore } from 'blockstore-core'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c() })

interface Peer { libp2p: Libp2p, store: ResultsStore, exchange: ResultsExchange, dataDir: string }

async function peer (): Promise<Peer> {
  const dataDir = await tempDir()
  const libp2p = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  const store = await ResultsStore.open(dataDir)
  const exchange = new ResultsExchange(libp2p, store, { timeoutMs: 20_000 })
  await exchange.start()
  cleanups.push(async () => { await exchange.stop(); await libp2p.stop(); await store.close() })
  return { libp2p, store, exchange, dataDir }
}

async function resultsFolder (bigBytes = 700_000): Promise<string> {
  const dir = join(await tempDir(), 'results')
  await mkdir(join(dir, 'outputs', 'nested'), { recursive: true })
  await writeFile(join(dir, 'stdout'), 'hello\n')
  await writeFile(join(dir, 'stderr'), '')
  await writeFile(join(dir, 'exitCode'), '0')
  const big = Buffer.alloc(bigBytes)
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff
  await writeFile(join(dir, 'outputs', 'nested', 'big.bin'), big)
  return dir
}

describe('results transfer by CID between two nodes', () => {
  it('fetches results over libp2p, verifies them and exports them to downloaded-files/<deal-id>', async () => {
    const [provider, creator] = [await peer(), await peer()]
    const dir = await resultsFolder()
    const cid = await provider.store.add(dir)
    expect(cid.toString()).toBe((await cidOfPath(dir)).toString())
    expect(await creator.store.has(cid)).toBe(false)

    const dest = await creator.exchange.fetch(cid, { dealId: 'deal-1', from: provider.libp2p.getMultiaddrs() })
    expect(dest).toBe(join(creator.dataDir, 'downloaded-files', 'deal-1'))
    expect(await readFile(join(dest, 'stdout'), 'utf8')).toBe('hello\n')
    expect(await readFile(join(dest, 'outputs', 'nested', 'big.bin'))).toEqual(await readFile(join(dir, 'outputs', 'nested', 'big.bin')))
    expect((await cidOfPath(dest)).toString()).toBe(cid.toString())
    // the blocks are now in the creator's own persistent store
    expect(await creator.store.has(cid)).toBe(true)
  })

  it('keeps blocks across a restart of the store', async () => {
    const dataDir = await tempDir()
    const dir = await resultsFolder(1000)
    const first = await ResultsStore.open(dataDir)
    const cid = await first.add(dir)
    await first.close()
    const again = await ResultsStore.open(dataDir)
    expect(await again.has(cid)).toBe(true)
    await again.close()
  })

  it('refuses results over the size limit, and leaves nothing behind', async () => {
    const [provider, creator] = [await peer(), await peer()]
    const cid = await provider.store.add(await resultsFolder())
    await expect(creator.exchange.fetch(cid, { dealId: 'deal-2', from: provider.libp2p.getMultiaddrs(), maxBytes: 100_000 }))
      .rejects.toMatchObject({ code: 'RESULTS_TOO_LARGE' })
    await expect(readFile(join(creator.dataDir, 'downloaded-files', 'deal-2', 'stdout'))).rejects.toThrow()
  })

  it('times out when nobody has the results', async () => {
    const [provider, creator] = [await peer(), await peer()]
    const cid = await cidOfPath(await resultsFolder(10)) // never added to any store
    const started = Date.now()
    await expect(creator.exchange.fetch(cid, { dealId: 'deal-3', from: provider.libp2p.getMultiaddrs(), timeoutMs: 1_000 }))
      .rejects.toMatchObject({ code: 'RESULTS_FETCH_TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('refuses a deal id that could escape the download folder', async () => {
    const creator = await peer()
    const cid = await cidOfPath(await resultsFolder(10))
    await expect(creator.exchange.fetch(cid, { dealId: '../etc' })).rejects.toMatchObject({ code: 'RESULTS_BAD_PATH' })
  })

  it('asks the holder first when it is named: a connected bystander is asked nothing', async () => {
    const [provider, creator, bystander] = [await peer(), await peer(), await peer()]
    const asked = await countBlockRequests(bystander.libp2p)
    await creator.libp2p.dial(bystander.libp2p.getMultiaddrs())
    await creator.libp2p.dial(provider.libp2p.getMultiaddrs())
    const cid = await provider.store.add(await resultsFolder(10_000))

    await creator.exchange.fetch(cid, { dealId: 'deal-h', holder: provider.libp2p.peerId })
    expect(await readFile(join(creator.exchange.downloadDir('deal-h'), 'stdout'), 'utf8')).toBe('hello\n')
    expect(asked()).toBe(0)
  })

  it('without a holder named, asks the connected peers in turn until one has the results', async () => {
    const [provider, creator, bystander] = [await peer(), await peer(), await peer()]
    const asked = await countBlockRequests(bystander.libp2p)
    await creator.libp2p.dial(provider.libp2p.getMultiaddrs())
    await creator.libp2p.dial(bystander.libp2p.getMultiaddrs())
    // the provider has the results only once the bystander was asked in vain
    const dir = await resultsFolder(20_000)
    const fetched = creator.exchange.fetch(await cidOfPath(dir), { dealId: 'deal-b' })
    await until(() => asked() > 0)
    await provider.store.add(dir)
    const dest = await fetched
    expect((await cidOfPath(dest)).toString()).toBe((await cidOfPath(dir)).toString())
  })

  it('falls back to every connected peer when the named holder lacks the results', async () => {
    const [provider, creator, stranger] = [await peer(), await peer(), await peer()]
    await creator.libp2p.dial(provider.libp2p.getMultiaddrs())
    await creator.libp2p.dial(stranger.libp2p.getMultiaddrs())
    const cid = await provider.store.add(await resultsFolder(10_000))

    const dest = await creator.exchange.fetch(cid, { dealId: 'deal-f', holder: stranger.libp2p.peerId })
    expect((await cidOfPath(dest)).toString()).toBe(cid.toString())
  })
})

describe('results blocks in one round trip from their holder', () => {
  it('brings every block of a results folder, each checked against its CID, and the export needs nothing more', async () => {
    const [provider, creator] = [await peer(), await peer()]
    const cid = await provider.store.add(await resultsFolder(300_000))
    await creator.libp2p.dial(provider.libp2p.getMultiaddrs())
    expect(await fetchBlocks(creator.libp2p, provider.libp2p.peerId, cid, creator.store.blockstore, AbortSignal.timeout(10_000))).toBe(true)
    expect(await creator.store.has(cid)).toBe(true)
    // offline: every block is local now
    await provider.exchange.stop()
    await provider.libp2p.stop()
    const dest = await creator.exchange.fetch(cid, { dealId: 'deal-local', timeoutMs: 2000 })
    expect((await cidOfPath(dest)).toString()).toBe(cid.toString())
  })

  it('asks the holder again for what is over the size it answers with', async () => {
    const [provider, creator] = [await peer(), await peer()]
    await creator.libp2p.dial(provider.libp2p.getMultiaddrs())
    const dir = await resultsFolder(1_000)
    await writeFile(join(dir, 'outputs', 'random.bin'), randomBytes(1_100_000))
    const big = await provider.store.add(dir)
    await answerUpTo(provider, 1_000_000)
    expect(await fetchBlocks(creator.libp2p, provider.libp2p.peerId, big, creator.store.blockstore, AbortSignal.timeout(10_000))).toBe(false)
    const dest = await creator.exchange.fetch(big, { dealId: 'deal-big', holder: provider.libp2p.peerId })
    expect((await cidOfPath(dest)).toString()).toBe(big.toString())
  })

  it('takes a fetch cut short up again where it stopped: each asks only for the subtrees still missing', async () => {
    const [provider, creator] = [await peer(), await peer()]
    await creator.libp2p.dial(provider.libp2p.getMultiaddrs())
    const dir = await resultsFolder(1_000)
    await writeFile(join(dir, 'outputs', 'random.bin'), randomBytes(2_000_000))
    const cid = await provider.store.add(dir)
    // the holder sends at most 700 kB an answer: the file's 8 chunks of 256 KiB take several
    await answerUpTo(provider, 700_000)
    const rounds: boolean[] = []
    while (rounds.length < 8 && rounds[rounds.length - 1] !== true) {
      rounds.push(await fetchBlocks(creator.libp2p, provider.libp2p.peerId, cid, creator.store.blockstore, AbortSignal.timeout(10_000)))
    }
    expect(rounds.length).toBeGreaterThanOrEqual(3)
    expect(rounds.length).toBeLessThanOrEqual(5)
    expect(rounds[rounds.length - 1]).toBe(true)
    await provider.exchange.stop()
    await provider.libp2p.stop()
    const dest = await creator.exchange.fetch(cid, { dealId: 'deal-resumed', timeoutMs: 2000 })
    expect((await cidOfPath(dest)).toString()).toBe(cid.toString())
  })

  it('answers a peer that asks too often with nothing, and a fetch that asks again a moment later brings the results', async () => {
    const [provider, creator] = [await peer(), await peer()]
    await creator.libp2p.dial(provider.libp2p.getMultiaddrs())
    const cid = await provider.store.add(await resultsFolder(1_000))
    // all at once, so that they fall in one second however busy the machine is
    const answers = await Promise.all(Array.from({ length: 14 }, async () =>
      await fetchBlocks(creator.libp2p, provider.libp2p.peerId, cid, new MemoryBlockstore(), AbortSignal.timeout(10_000))))
    expect(answers.filter(whole => whole)).toHaveLength(10)
    const dest = await creator.exchange.fetch(cid, { dealId: 'deal-often', holder: provider.libp2p.peerId })
    expect((await cidOfPath(dest)).toString()).toBe(cid.toString())
  })

  it('refuses a block that does not hash to its CID, and one that nothing before it links to', async () => {
    const [liar, creator] = [await peer(), await peer()]
    const honest = await peer()
    const cid = await honest.store.add(await resultsFolder(10_000))
    const root = await readAll(honest.store.blockstore.get(cid))
    await liar.exchange.stop()
    const answer = async (frames: Uint8Array[]): Promise<void> => {
      await liar.libp2p.unhandle(RESULTS_BLOCKS_PROTOCOL).catch(() => undefined)
      await liar.libp2p.handle(RESULTS_BLOCKS_PROTOCOL, async (stream) => {
        const lp = lpStream(stream)
        await lp.read()
        for (const frame of [...frames, new Uint8Array(0)]) await lp.write(frame)
        await stream.close()
      })
    }
    await creator.libp2p.dial(liar.libp2p.getMultiaddrs())
    const fetch = (): Promise<boolean> => fetchBlocks(creator.libp2p, liar.libp2p.peerId, cid, creator.store.blockstore, AbortSignal.timeout(5000))

    const tampered = Uint8Array.from(root)
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1
    await answer([Buffer.concat([cid.bytes, tampered])])
    await expect(fetch()).rejects.toThrow(/does not hash to its CID/)

    const stranger = await honest.store.add(join(await resultsFolder(5_000), 'stdout'))
    await answer([Buffer.concat([stranger.bytes, await readAll(honest.store.blockstore.get(stranger))])])
    await expect(fetch()).rejects.toThrow(/no block before it links to/)
    expect(await creator.store.has(cid)).toBe(false)
    expect(await creator.store.has(stranger)).toBe(false)
  })
})

/** The holder answers with at most `maxBytes` of blocks a request. */
async function answerUpTo (holder: Peer, maxBytes: number): Promise<void> {
  await holder.libp2p.unhandle(RESULTS_BLOCKS_PROTOCOL)
  await serveBlocks(holder.libp2p, holder.store.blockstore, { maxBytes })
}

async function readAll (chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of chunks) parts.push(chunk)
  return Buffer.concat(parts)
}

/** Counts the requests for blocks a peer is sent, which it answers with none. */
async function countBlockRequests (libp2p: Libp2p): Promise<() => number> {
  let requests = 0
  await libp2p.unhandle(RESULTS_BLOCKS_PROTOCOL)
  await libp2p.handle(RESULTS_BLOCKS_PROTOCOL, async (stream) => {
    requests++
    const lp = lpStream(stream)
    while ((await lp.read()).byteLength > 0);
    await lp.write(new Uint8Array(0))
    await stream.close().catch(() => undefined)
  })
  return () => requests
}

async function until (condition: () => boolean): Promise<void> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > 10_000) throw new Error('timed out waiting')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

