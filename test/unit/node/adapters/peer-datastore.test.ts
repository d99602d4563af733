import { join } from 'node:path'
import { Key } from 'interface-datastore'
import { describe, expect, it } from 'vitest'
import { PeerDatastore } from '../../../../src/node/adapters/peer-datastore.ts'
import { useTempDirs } from '../../../support/temp-dir.ts'

const tempDir = useTempDirs()
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
const text = (value: Uint8Array | Promise<Uint8Array>): string => new TextDecoder().decode(value as Uint8Array)
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

describe('peer datastore: in memory, written to disk a moment after each change', () => {
  it('keeps puts and deletes across a close and reopen', async () => {
    const dir = join(await tempDir(), 'peers')
    const store = await PeerDatastore.open(dir)
    store.put(new Key('/peers/a'), bytes('a1'))
    store.put(new Key('/peers/b'), bytes('b1'))
    store.put(new Key('/peers/a'), bytes('a2'))
    store.delete(new Key('/peers/b'))
    expect(text(store.get(new Key('/peers/a')))).toBe('a2')
    await store.close()

    const again = await PeerDatastore.open(dir)
    expect(text(again.get(new Key('/peers/a')))).toBe('a2')
    expect(again.has(new Key('/peers/b'))).toBe(false)
    await again.close()
  })

  it('writes changes on its own once the flush interval has passed', async () => {
    const store = await PeerDatastore.open(join(await tempDir(), 'peers'), { flushEveryMs: 20 })
    store.put(new Key('/peers/a'), bytes('a1'))
    store.put(new Key('/peers/c'), bytes('c1'))
    expect(store.unflushed).toBe(2)
    await sleep(150)
    expect(store.unflushed).toBe(0)
    await store.close()
  })

  it('serves what libp2p queries from memory', async () => {
    const store = await PeerDatastore.open(join(await tempDir(), 'peers'))
    store.put(new Key('/peers/x'), bytes('x'))
    store.put(new Key('/other/y'), bytes('y'))
    const keys: string[] = []
    for await (const { key } of store.query({ prefix: '/peers' })) keys.push(key.toString())
    expect(keys).toEqual(['/peers/x'])
    await store.close()
  })

  it('holds at most so many DHT records, the least recently written going first, and the peer store untouched', async () => {
    const dir = join(await tempDir(), 'peers')
    const store = await PeerDatastore.open(dir, { maxDhtRecords: 2 })
    store.put(new Key('/peers/a'), bytes('a'))
    for (const n of [1, 2, 3]) store.put(new Key(`/dht/provider/${n}`), bytes(String(n)))
    store.put(new Key('/dht/provider/2'), bytes('2 again'))
    store.put(new Key('/dht/provider/4'), bytes('4'))
    const keys = async (s: PeerDatastore): Promise<string[]> => { const k: string[] = []; for await (const key of s.queryKeys({})) k.push(key.toString()); return k.sort() }
    expect(await keys(store)).toEqual(['/dht/provider/2', '/dht/provider/4', '/peers/a'])
    expect(store.dhtRecords).toBe(2)
    await store.close()
    const again = await PeerDatastore.open(dir, { maxDhtRecords: 2 })
    expect(await keys(again)).toEqual(['/dht/provider/2', '/dht/provider/4', '/peers/a'])
    await again.close()
  })
})
