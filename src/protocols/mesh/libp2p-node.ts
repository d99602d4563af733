/**
 * The libp2p node factory: TCP, noise, yamux, identify, ping, gossipsub (the maintained
 * `@libp2p/gossipsub`, successor of `@chainsafe/libp2p-gossipsub` for libp2p 3), bootstrap from
 * explicit multiaddrs and optional mDNS. The peer id is the node's secp256k1 key, whose signatures
 * libp2p checks itself (gossipsub's StrictSign, once per delivery). Given a datastore, the peer
 * store (peers' addresses and keys) outlives a restart.
 *
 * Every node dials peers through relays (circuit relay v2), confirms its public addresses with
 * AutoNAT (libp2p advertises a public listen address only once a peer has dialled it back), and
 * answers DCUtR; it serves as a relay, or takes a slot on one, only when asked (relay.ts).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { gossipsub, type GossipsubOpts } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import type { ConnectionGater, Libp2p } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import { mdns } from '@libp2p/mdns'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { libp2pPrivateKey } from './peer-identity.ts'
import { RELAY_SLOT_LISTEN_ADDRESS, relayServer, type RelayServerLimits } from './relay.ts'

export interface Libp2pNodeOptions {
  /** 0x-prefixed 32-byte secp256k1 key: the node's Ethereum key */
  privateKey: string
  /** listen multiaddrs, e.g. ['/ip4/127.0.0.1/tcp/0'] for a random loopback port */
  listen: string[]
  /**
   * the addresses peers are told to reach this node at, in place of those it listens on (a public
   * address forwarded to it through a router, a DNS name); default: the listen addresses
   */
  announce?: string[]
  /** multiaddrs (with /p2p/<id>) dialled at start and whenever the node has no peers */
  bootstrap?: string[]
  /**
   * relays (multiaddrs with /p2p/<id>) to be reachable through, for a node peers cannot dial (behind
   * a NAT): dialled as bootstrap peers, and a slot is reserved on one of them; default none
   */
  relays?: string[]
  /** serve as a relay for peers behind a NAT, within these limits; default: not a relay */
  relayServer?: RelayServerLimits
  /** find peers on the local network by mDNS (default false) */
  mdns?: boolean
  /** connection limits: at most this many open connections (default 64) */
  maxConnections?: number
  /** pending inbound connections accepted at once (default 16) */
  maxIncomingPendingConnections?: number
  /** ms to establish an outbound connection (default 10 s) */
  dialTimeoutMs?: number
  connectionGater?: ConnectionGater
  /** where the peer store lives (default: memory, forgotten on restart) */
  datastore?: Datastore
  /**
   * find the addresses of peers known only by id (a job creator whose offer came through relays)
   * with a Kademlia DHT of the mesh's own (protocol `/lilypad/<network>/kad/1.0.0`); off by default
   */
  peerRouting?: { network: string }
  gossip?: Partial<GossipsubOpts>
  /** where libp2p and its services report their metrics (e.g. a Prometheus registry's); default none */
  metrics?: Libp2pOptions['metrics']
}

export type Libp2pNode = Libp2p<{ pubsub: GossipSub, identify: unknown, identifyPush: unknown, ping: unknown, autoNAT: unknown, dcutr: unknown }>

export async function createLibp2pNode (options: Libp2pNodeOptions): Promise<Libp2pNode> {
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  const relays = options.relays ?? []
  const bootstrapList = [...new Set([...(options.bootstrap ?? []), ...relays])]
  if (bootstrapList.length > 0) peerDiscovery.push(bootstrap({ list: bootstrapList, timeout: 0 }))
  if (options.mdns === true) peerDiscovery.push(mdns())
  const privateKey = libp2pPrivateKey(options.privateKey)
  return await createLibp2p({
    privateKey,
    ...(options.datastore !== undefined ? { datastore: options.datastore } : {}),
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
    addresses: {
      listen: relays.length > 0 ? [...options.listen, RELAY_SLOT_LISTEN_ADDRESS] : options.listen,
      ...((options.announce ?? []).length > 0 ? { announce: options.announce } : {})
    },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery,
    connectionGater: options.connectionGater,
    connectionManager: {
      maxConnections: options.maxConnections ?? 64,
      maxIncomingPendingConnections: options.maxIncomingPendingConnections ?? 16,
      dialTimeout: options.dialTimeoutMs ?? 10_000
    },
    services: {
      identify: identify(),
      // protocols a node serves after its peers identified it (the results exchange starts after
      // the mesh) reach them too: without it a peer never learns it may ask that connection for blocks
      identifyPush: identifyPush(),
      ping: ping(),
      autoNAT: autoNAT(),
      dcutr: dcutr(),
      ...(options.relayServer !== undefined ? { relay: relayServer(options.relayServer) } : {}),
      pubsub: gossipsub(options.gossip),
      ...(options.peerRouting !== undefined
        ? {
            // a LAN-style DHT: every node serves it, and loopback or private addresses are kept
            dht: kadDHT({ protocol: `/lilypad/${options.peerRouting.network}/kad/1.0.0`, clientMode: false, peerInfoMapper: passthroughMapper })
          }
        : {})
    }
  }) as unknown as Libp2pNode
}
