import { isPeerId, type Libp2p, type PeerId, type Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * A stream of `protocol` to a peer, for a protocol that may run over a relayed connection (a
 * limited one, which the relay ends past its limits). libp2p dials a peer again whenever all its
 * connections are limited, trying the peer's direct addresses first, which behind a NAT never
 * answer: the open relayed connection is what such a dial would end on, without the wait, and
 * without one more connection through the relay.
 */
export async function openProtocolStream (libp2p: Libp2p, peer: PeerId | Multiaddr, protocol: string, signal: AbortSignal): Promise<Stream> {
  if (isPeerId(peer)) {
    const open = libp2p.getConnections(peer).filter(c => c.status === 'open')
    if (open.length > 0 && open.every(c => c.limits !== undefined)) return await open[0]!.newStream(protocol, { signal, runOnLimitedConnection: true })
  }
  return await libp2p.dialProtocol(peer, protocol, { signal, runOnLimitedConnection: true })
}
