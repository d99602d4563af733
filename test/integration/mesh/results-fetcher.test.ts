/**
 * The node's results fetcher keeps dialling the party that holds the results while the fetch
 * runs: a provider restarted after it announced its results is reached again, and the exchange gets
 * them, instead of the fetch waiting on a peer it is no longer connected to.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { ResultsExchange } from '../../../src/executor/results/exchange.ts'
import { ResultsStore } from '../../../src/executor/results/store.ts'
import type { MeshNode } from '../../../src/protocols/mesh/index.ts'
import { MeshTransport } from '../../../src/node/adapters/mesh-transport.ts'
import { resultsFetcher } from '../../../src/node/adapters/results-fetcher.ts'
import { useTempDirs } from '../../support/temp-dir.ts'
import { wallet } from '../../unit/protocols/mesh/fixtures.ts'
import { meshNode, sleep, waitFor } from './support.ts'

const tempDir = useTempDirs()

describe('results fetcher', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined) })

  async function withExchange (node: MeshNode): Promise<ResultsExchange> {
    const store = await ResultsStore.open(await tempDir())
    const exchange = new ResultsExchange(node.libp2p, store, { timeoutMs: 30_000 })
    await exchange.start()
    cleanups.push(async () => { await exchange.stop(); await node.stop(); await store.close() })
    return exchange
  }

  it('reaches a holder that went down and came back while the fetch waited', async () => {
    const creator = await meshNode(2, { syncOnConnect: false })
    const creatorExchange = await withExchange(creator)
    const holder = await meshNode(1, { syncOnConnect: false })
    const holderExchange = await withExchange(holder)
    const port = holder.multiaddrs()[0]!.toString()
    const dir = join(await tempDir(), 'results')
    await mkdir(dir)
    await writeFile(join(dir, 'stdout'), 'moo\n')
    const cid = await holderExchange.store.add(dir)
    // the creator has met the holder (its address is in the peer store), then the holder goes down
    await creator.dial(port)
    await waitFor(() => creator.libp2p.getPeers().length === 1, 5000, 'the connection')
    await holder.stop()
    await waitFor(() => creator.libp2p.getPeers().length === 0, 5000, 'the hang-up')

    const transport = new MeshTransport(creator)
    const fetching = resultsFetcher(creator, transport, creatorExchange, pino({ level: 'silent' })).fetch(cid.toString(), wallet(1).address, 'deal-1', new AbortController().signal)
    await sleep(1500)
    // back on the same address, with the same results
    const again = await meshNode(1, { syncOnConnect: false, listen: [port.split('/p2p/')[0]!] })
    const againExchange = await withExchange(again)
    await againExchange.store.add(dir)
    expect(await fetching).toBe(true)
    expect(await readFile(join(creatorExchange.downloadDir('deal-1'), 'stdout'), 'utf8')).toBe('moo\n')
  }, 60_000)

  it('gets results from a holder whose exchange started after it connected (identify push tells the protocol)', async () => {
    const creator = await meshNode(2, { syncOnConnect: false })
    const creatorExchange = await withExchange(creator)
    // a node connects as its mesh starts, and its results exchange starts after that
    const holder = await meshNode(1, { syncOnConnect: false })
    await holder.dial(creator.multiaddrs()[0]!.toString())
    await waitFor(() => creator.libp2p.getPeers().length === 1, 5000, 'the connection')
    await sleep(300)
    const holderExchange = await withExchange(holder)
    const dir = join(await tempDir(), 'results')
    await mkdir(dir)
    await writeFile(join(dir, 'stdout'), 'late\n')
    const cid = await holderExchange.store.add(dir)

    await creatorExchange.fetch(cid, { dealId: 'deal-2', timeoutMs: 10_000 })
    expect(await readFile(join(creatorExchange.downloadDir('deal-2'), 'stdout'), 'utf8')).toBe('late\n')
  }, 60_000)
})
