/**
 * The connection gater: peers on the block list can neither dial us nor be dialled. Used for bans
 * (a peer proven malicious) and, in tests, to partition the mesh. Blocking also needs the caller
 * to hang up existing connections; `MeshNode.gate` does both.
 */
import type { ConnectionGater, PeerId } from '@libp2p/interface'

export class PeerBlockList {
  private readonly blocked = new Map<string, string>()

  block (peer: PeerId | string, reason: string): void {
    this.blocked.set(peer.toString(), reason)
  }

  unblock (peer: PeerId | string): boolean {
    return this.blocked.delete(peer.toString())
  }

  isBlocked (peer: PeerId | string): boolean {
    return this.blocked.has(peer.toString())
  }

  reasonFor (peer: PeerId | string): string | undefined {
    return this.blocked.get(peer.toString())
  }

  list (): Array<{ peer: string, reason: string }> {
    return [...this.blocked].map(([peer, reason]) => ({ peer, reason }))
  }

  gater (): ConnectionGater {
    const denied = (peer: PeerId): boolean => this.isBlocked(peer)
    return {
      denyDialPeer: denied,
      denyInboundEncryptedConnection: denied,
      denyOutboundEncryptedConnection: denied,
      denyInboundUpgradedConnection: denied,
      denyOutboundUpgradedConnection: denied,
      // loopback and private addresses are the norm for a local network, so allow them
      denyDialMultiaddr: () => false
    }
  }
}
