import { MemoryBlockstore } from 'blockstore-core'
import { importer } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import { describe, expect, it } from 'vitest'
import { prefetchDag } from '../../../../src/executor/results/prefetch.ts'
import { ResultsError } from '../../../../src/executor/results/errors.ts'

/** The store keys blocks by multihash: a folder and a file may share none but their codec. */
const hashOf = (cid: CID): string => Buffer.from(cid.multihash.bytes).toString('hex')
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

async function folder (store: MemoryBlockstore, files: Record<string, string>): Promise<CID> {
  let root: CID | undefined
  for await (const entry of importer(Object.entries(files).map(([path, content]) => ({ path: `results/${path}`, content: text(content) })), store)) {
    if (entry.path === 'results') root = entry.cid
  }
  return root!
}

/** A blockstore that answers after a delay, like bitswap, and records what was asked when. */
class SlowStore {
  asked: string[] = []
  inFlight = 0
  mostAtOnce = 0
  constructor (private readonly source: MemoryBlockstore) {}
  async * get (cid: CID): AsyncGenerator<Uint8Array> {
    this.asked.push(hashOf(cid))
    this.inFlight++
    this.mostAtOnce = Math.max(this.mostAtOnce, this.inFlight)
    await new Promise(resolve => setTimeout(resolve, 20))
    this.inFlight--
    yield * this.source.get(cid)
  }
}

describe('prefetchDag', () => {
  it('asks for all of a level\'s blocks at once, each block once, down every folder', async () => {
    const source = new MemoryBlockstore()
    const files: Record<string, string> = { 'sub/deep': 'deep', 'sub/again': 'again', 'same-a': 'twin', 'same-b': 'twin' }
    for (let i = 0; i < 10; i++) files[`file-${i}`] = `content ${i}`
    const root = await folder(source, files)
    const store = new SlowStore(source)
    await prefetchDag(root, store, { maxBytes: 1 << 20 })

    const all: string[] = []
    for await (const { cid } of source.getAll()) all.push(hashOf(cid))
    expect([...store.asked].sort()).toEqual(all.sort())
    // the root, then its 12 distinct children at once (ten files, the subfolder, and the two files
    // that hold the same bytes: one block), then the subfolder's two
    expect(store.mostAtOnce).toBe(12)
    expect(new Set(store.asked).size).toBe(store.asked.length)
  })

  it('stops with RESULTS_TOO_LARGE once the blocks pass the limit', async () => {
    const source = new MemoryBlockstore()
    const root = await folder(source, { big: 'x'.repeat(5000), small: 'y' })
    const err = await prefetchDag(root, source, { maxBytes: 1000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ResultsError)
    expect((err as ResultsError).code).toBe('RESULTS_TOO_LARGE')
  })
})
