/**
 * A pubsub stream reset on an open connection makes gossipsub forget the peer for as long as the
 * connection lasts; the mesh node's link watch reconnects it, and gossip flows again.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { MeshNode } from '../../../src/protocols/mesh/index.ts'
import { resourceOffer, wallet } from '../../unit/protocols/mesh/fixtures.ts'
import { Inbox, meshNode, sleep, waitFor } from './support.ts'

const topic = (node: MeshNode): string => `/lilypad/${node.network}/resource-offers/1`

/** Resets, from `node`'s side, the pubsub streams it has with `peer`, as a failing connection would. */
function resetPubsubStreams (node: MeshNode, peer: MeshNode): number {
  let reset = 0
  for (const connection of node.libp2p.getConnections(peer.peerId)) {
    for (const stream of connection.streams) {
      if (stream.protocol?.startsWith('/meshsub/') !== true) continue
      stream.abort(new Error('reset for the test'))
      reset++
    }
  }
  return reset
}

describe('gossip link watch', () => {
  const nodes: MeshNode[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  const subscribed = (node: MeshNode, peer: MeshNode): boolean =>
    node.libp2p.services.pubsub.getSubscribers(topic(node)).some(p => p.equals(peer.peerId))

  /** Two nodes, each checking its links every `checkMs` (0: no watch), connected and subscribed to each other. */
  async function connectedPair (checkA: number, checkB: number): Promise<[MeshNode, MeshNode]> {
    const a = await meshNode(1, { gossipLinkCheckMs: checkA })
    const b = await meshNode(2, { gossipLinkCheckMs: checkB })
    nodes.push(a, b)
    await a.dial(b.multiaddrs()[0]!)
    await waitFor(() => subscribed(a, b) && subscribed(b, a), 5000, 'both subscriptions')
    return [a, b]
  }

  it('finds a peer gossipsub lost while connected and reconnects it, so that its gossip arrives again', async () => {
    const [a, b] = await connectedPair(300, 300)

    // the reset stream fails to read on b, which drops a from gossipsub, connection and all open
    expect(resetPubsubStreams(a, b)).toBeGreaterThan(0)
    await waitFor(() => !subscribed(b, a), 5000, 'gossipsub forgetting the peer')
    expect(b.libp2p.getConnections(a.peerId).length).toBeGreaterThan(0)

    await waitFor(() => subscribed(b, a) && subscribed(a, b), 10_000, 'the peers back in gossipsub')
    const inbox = new Inbox(b, ['resource-offers'])
    const offer = await a.publish('resource-offers', resourceOffer(wallet(1), Date.now()))
    await waitFor(() => inbox.has(offer.id), 5000, 'gossip from the peer')
  }, 30_000)

  it('without the watch, the peer stays lost while the connection lasts', async () => {
    const [a, b] = await connectedPair(0, 0)
    resetPubsubStreams(a, b)
    await waitFor(() => !subscribed(b, a), 5000, 'gossipsub forgetting the peer')
    await sleep(1500)
    expect(subscribed(b, a)).toBe(false)
    expect(b.libp2p.getConnections(a.peerId).length).toBeGreaterThan(0)
  }, 30_000)

  it('leaves alone a peer gossipsub knows', async () => {
    const [a, b] = await connectedPair(100, 0)
    const connection = a.libp2p.getConnections(b.peerId)[0]!
    await sleep(600)
    expect(a.libp2p.getConnections(b.peerId).map(c => c.id)).toEqual([connection.id])
  }, 30_000)
})
