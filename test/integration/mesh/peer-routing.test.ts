/**
 * A node that knows a peer by id only (its offer came through relays) finds the peer's addresses
 * through the mesh's DHT and reaches it directly, as a solver must reach a job creator it never met.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { MeshNode } from '../../../src/protocols/mesh/index.ts'
import { meshNode, waitFor } from './support.ts'

const ECHO = '/lilypad/test/echo/1.0.0'

describe('peer routing', () => {
  const nodes: MeshNode[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  async function line (peerRouting: boolean): Promise<[MeshNode, MeshNode, MeshNode]> {
    const [solver, relay, creator] = await Promise.all([1, 2, 3].map(n => meshNode(n, { peerRouting, syncOnConnect: false })))
    nodes.push(solver!, relay!, creator!)
    await creator!.handleRaw(ECHO, frame => frame)
    await solver!.dial(relay!.multiaddrs()[0]!)
    await creator!.dial(relay!.multiaddrs()[0]!)
    await waitFor(() => relay!.libp2p.getPeers().length === 2, 10_000, 'both connected to the relay')
    return [solver!, relay!, creator!]
  }

  it('finds the addresses of a peer two hops away and dials it', async () => {
    const [solver, , creator] = await line(true)
    expect(solver.libp2p.getPeers().some(p => p.equals(creator.peerId))).toBe(false)
    const reply = await solver.request(creator.peerId, ECHO, new TextEncoder().encode('proposal'), { timeoutMs: 10_000 })
    expect(new TextDecoder().decode(reply)).toBe('proposal')
  }, 60_000)

  it('without it, a peer known by id only cannot be reached', async () => {
    const [solver, , creator] = await line(false)
    await expect(solver.request(creator.peerId, ECHO, new Uint8Array([1]), { timeoutMs: 5_000 })).rejects.toThrow()
  }, 60_000)
})
