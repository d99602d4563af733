/**
 * A node restarted from its data directory still reaches the peers it had met, even those that
 * found it (they dialled in): the peer store lives in a LevelDB datastore beside the log.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { afterEach, describe, expect, it } from 'vitest'
import type { MeshNode } from '../../../src/protocols/mesh/index.ts'
import { meshNode, waitFor } from './support.ts'

describe('persistent peer store', () => {
  const cleanups: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
  })

  async function restartable (dir: string): Promise<MeshNode> {
    const datastore = new LevelDatastore(join(dir, 'peers'))
    await datastore.open()
    const node = await meshNode(2, { datastore, syncOnConnect: false })
    cleanups.push(async () => { await node.stop(); await datastore.close() })
    return node
  }

  it('keeps the address of a peer that dialled in, so the restarted node dials it back by peer id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lilypad-peers-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const remote = await meshNode(1, { syncOnConnect: false })
    cleanups.push(async () => { await remote.stop() })
    await remote.handleRaw('/lilypad/test/echo/1.0.0', frame => frame)

    const first = await restartable(dir)
    await remote.dial(first.multiaddrs()[0]!)
    await waitFor(() => first.libp2p.getPeers().some(p => p.equals(remote.peerId)), 10_000, 'the inbound connection')
    // identify tells `first` where the remote listens; the peer store writes it to the datastore
    const addresses = async (): Promise<number> => (await first.libp2p.peerStore.get(remote.peerId).catch(() => undefined))?.addresses.length ?? 0
    const deadline = Date.now() + 10_000
    while (await addresses() === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 50))
    expect(await addresses()).toBeGreaterThan(0)
    await cleanups.pop()!()

    const second = await restartable(dir)
    expect(second.libp2p.getPeers()).toEqual([])
    const reply = await second.request(remote.peerId, '/lilypad/test/echo/1.0.0', new TextEncoder().encode('back'))
    expect(new TextDecoder().decode(reply)).toBe('back')
  }, 60_000)

  it('without a datastore, a restarted node cannot reach a peer that had dialled in', async () => {
    const remote = await meshNode(1, { syncOnConnect: false })
    cleanups.push(async () => { await remote.stop() })
    const first = await meshNode(2, { syncOnConnect: false })
    await remote.dial(first.multiaddrs()[0]!)
    await waitFor(() => first.libp2p.getPeers().length > 0, 10_000, 'the inbound connection')
    await first.stop()
    const second = await meshNode(2, { syncOnConnect: false })
    cleanups.push(async () => { await second.stop() })
    await expect(second.request(remote.peerId, '/lilypad/test/echo/1.0.0', new Uint8Array([1]), { timeoutMs: 3_000 })).rejects.toThrow()
  }, 60_000)
})
