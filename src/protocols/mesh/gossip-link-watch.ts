import type { Libp2p, PeerId } from '@libp2p/interface'

export interface GossipLinkWatchOptions {
  /** how often connections are compared with the peers gossipsub knows */
  intervalMs: number
  /** a peer found deaf twice in a row, about to be reconnected */
  onRepair: (peer: PeerId) => void
}

interface GossipRouter {
  protocols: string[]
  getPeers: () => PeerId[]
}

/**
 * Gossipsub forgets a peer whose pubsub stream fails to read (a stream reset under load) even
 * though the connection stays open, and only a new connection brings the peer back: the two nodes
 * stay connected but never hear each other's gossip again (offers, job offers, deals). This watch
 * finds such peers: connected for a whole interval, speaking a gossipsub protocol, unknown to
 * gossipsub at two checks in a row. It hangs up on each and dials it again, which gives both
 * sides fresh pubsub streams and the peer's subscriptions.
 */
export function watchGossipLinks (libp2p: Libp2p, pubsub: GossipRouter, options: GossipLinkWatchOptions): { stop: () => void } {
  let suspects = new Set<string>()
  let busy = false
  const check = async (): Promise<void> => {
    const known = new Set(pubsub.getPeers().map(p => p.toString()))
    // connections are timed by the wall clock, whatever clock the node checks messages against
    const settledBefore = Date.now() - options.intervalMs
    const found = new Map<string, PeerId>()
    for (const connection of libp2p.getConnections()) {
      const peer = connection.remotePeer
      const id = peer.toString()
      // gossipsub stays off relayed connections (limited ones): a peer reached only through a relay is not deaf
      if (known.has(id) || found.has(id) || connection.status !== 'open' || connection.limits !== undefined || connection.timeline.open > settledBefore) continue
      const protocols = await libp2p.peerStore.get(peer).then(p => p.protocols, () => [] as string[])
      if (protocols.some(p => pubsub.protocols.includes(p))) found.set(id, peer)
    }
    const deaf = [...found].filter(([id]) => suspects.has(id))
    suspects = new Set(found.keys())
    for (const [id, peer] of deaf) {
      suspects.delete(id)
      options.onRepair(peer)
      await libp2p.hangUp(peer).catch(() => undefined)
      await libp2p.dial(peer).catch(() => undefined)
    }
  }
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    check().catch(() => undefined).finally(() => { busy = false })
  }, options.intervalMs)
  timer.unref()
  return { stop: () => { clearInterval(timer) } }
}
