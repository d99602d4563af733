/**
 * A node that keeps a slot on a relay is reached through it: the protocols a deal's parties speak
 * pass over the relayed (limited) connection, offer sync does not, the gossip link watch leaves it
 * open, and the relay ends a relayed connection past its byte limit.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_RELAY_SERVER_LIMITS, DIRECT_PROTOCOLS, type MeshNode, type RelayServerLimits } from '../../../src/protocols/mesh/index.ts'
import { meshNode, sleep, waitFor } from './support.ts'

describe('a node reached through a relay', () => {
  const nodes: MeshNode[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  /** A relay, a node with a slot on it, and a caller joined to the relay: the node's relayed address. */
  async function relayed (limits: RelayServerLimits = DEFAULT_RELAY_SERVER_LIMITS): Promise<{ hidden: MeshNode, caller: MeshNode, circuit: string }> {
    const relay = await meshNode(1, { relayServer: limits })
    nodes.push(relay)
    const relayAddress = relay.multiaddrs()[0]!.toString()
    // listening on no address of its own, as behind a NAT: it is reached through the relay or not at all
    const [hidden, caller] = await Promise.all([meshNode(2, { listen: [], relays: [relayAddress], gossipLinkCheckMs: 100 }), meshNode(3, { bootstrap: [relayAddress], gossipLinkCheckMs: 100 })])
    nodes.push(hidden!, caller!)
    await hidden!.handleRaw(DIRECT_PROTOCOLS.head, frame => frame)
    await waitFor(() => hidden!.multiaddrs().some(a => a.toString().includes('/p2p-circuit')), 10_000, 'a slot on the relay')
    return { hidden: hidden!, caller: caller!, circuit: hidden!.multiaddrs().find(a => a.toString().includes('/p2p-circuit'))!.toString() }
  }

  it('takes a deal protocol\'s requests over the relayed connection, again and again on that one connection; offer sync stays off it', async () => {
    const { hidden, caller, circuit } = await relayed()
    expect(circuit).toMatch(new RegExp(`/p2p/${nodes[0]!.peerId.toString()}/p2p-circuit/p2p/${hidden.peerId.toString()}$`))
    const reply = await caller.request(circuit, DIRECT_PROTOCOLS.head, new TextEncoder().encode('head'))
    expect(new TextDecoder().decode(reply)).toBe('head')
    const [connection, ...others] = caller.libp2p.getConnections(hidden.peerId)
    expect(others.map(c => c.id)).toEqual([])
    expect(connection!.limits, 'a relayed connection is limited').toBeDefined()
    // by peer id, as the role actors send: the relayed connection is used, not dialled anew
    for (let i = 0; i < 3; i++) expect([...await caller.request(hidden.peerId, DIRECT_PROTOCOLS.head, new Uint8Array([i]))]).toEqual([i])
    // gossipsub does not run on it, and the watch over gossip links does not take that for a fault
    await sleep(500)
    expect(caller.libp2p.getConnections(hidden.peerId).map(c => c.id)).toEqual([connection!.id])
    await expect(caller.syncOffers(hidden.peerId)).rejects.toThrow(/limited connection/)
  }, 30_000)

  it('is cut off once a relayed connection carries more than the relay\'s byte limit; the next request opens another', async () => {
    const { hidden, caller, circuit } = await relayed({ ...DEFAULT_RELAY_SERVER_LIMITS, maxBytes: 32 * 1024 })
    await expect(caller.request(circuit, DIRECT_PROTOCOLS.head, new Uint8Array(64 * 1024), { timeoutMs: 5_000 })).rejects.toThrow()
    await waitFor(() => caller.libp2p.getConnections(hidden.peerId).length === 0, 5_000, 'the relay to end the connection')
    expect([...await caller.request(circuit, DIRECT_PROTOCOLS.head, new Uint8Array([7]))]).toEqual([7])
  }, 30_000)
})
