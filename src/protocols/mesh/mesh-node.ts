/**
 * The mesh node: a libp2p node with gossip topics and their validators, direct protocols, the
 * offer sync for late joiners, re-announcement of our own offers, and bans. This is the surface
 * the node's composition root uses; it knows messages, never machines.
 */
import type { GossipsubMessage, GossipsubOpts, Message } from '@libp2p/gossipsub'
import type { RPC } from '@libp2p/gossipsub/message'
import { StrictSign, TopicValidatorResult } from '@libp2p/gossipsub'
import type { IdentifyResult, PeerId, PeerInfo } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { encodeEnvelope, verifyEnvelope, type Envelope, type LilypadDomain, type Verified } from '../messages/index.ts'
import { decodeDirectMessage, encodeDirectMessage, type DirectMessage, type ReceivedDirectMessage } from './direct-messages.ts'
import { DEFAULT_DIRECT_LIMITS, DIRECT_PROTOCOLS, DirectProtocols, type DirectLimits, type SendOptions } from './direct.ts'
import { isMeshError, MeshError } from './errors.ts'
import { PeerBlockList } from './gater.ts'
import { createLibp2pNode, type Libp2pNode, type Libp2pNodeOptions } from './libp2p-node.ts'
import { MeshState, type MeshStateLimits } from './mesh-state.ts'
import type { OfferFunding } from './offer-funding.ts'
import { DEFAULT_OFFER_ADMISSION, type AdmissionLimits } from './peer-admission.ts'
import { addressOfPeer, peerIdOfKey } from './peer-identity.ts'
import { DirectPenalties, peerScoreParams, SCORE_THRESHOLDS } from './scoring.ts'
import { SeenCache } from './seen-cache.ts'
import { fetchOffers, serveOffers } from './offer-sync.ts'
import { gossipMessageId, gossipTopic, OFFER_TOPICS, TOPIC_MESSAGE_TYPE, TOPIC_NAMES, type TopicName } from './topics.ts'
import { watchGossipLinks } from './gossip-link-watch.ts'
import { GossipValidationAdapter, type ValidationCounter } from './validation-adapter.ts'
import { remember } from './validators.ts'
import type { Service } from '../../support/lifecycle.ts'

export interface MeshNodeOptions {
  /** 0x-prefixed 32-byte secp256k1 key (the node key): signs messages and is the peer id */
  privateKey: string
  /** network name in topic names, `/lilypad/<network>/<topic>/1` */
  network: string
  /** the EIP-712 domain every message is verified under */
  domain: LilypadDomain
  /** default ['/ip4/127.0.0.1/tcp/0'] */
  listen?: string[]
  /** the addresses peers are told to reach this node at (default: those it listens on) */
  announce?: string[]
  /** multiaddrs with /p2p/<peer id> to dial at start */
  bootstrap?: string[]
  /** relays (multiaddrs with /p2p/<peer id>) to be reachable through, for a node behind a NAT */
  relays?: string[]
  /** serve as a relay for peers behind a NAT, within these limits; default: not a relay */
  relayServer?: Libp2pNodeOptions['relayServer']
  mdns?: boolean
  maxConnections?: number
  /** keeps the peer store (addresses of peers met) across restarts; default in memory */
  datastore?: Datastore
  /** looks up the addresses of peers known by id only, through a DHT among the mesh's nodes (default false) */
  peerRouting?: boolean
  /** topics to subscribe to (default all) */
  topics?: readonly TopicName[]
  direct?: Partial<DirectLimits>
  /** gossip messages that may wait for validation (default 1024) */
  maxQueuedValidations?: number
  /** what the node holds of others' offers (defaults: DEFAULT_MESH_STATE_LIMITS) */
  meshState?: Partial<MeshStateLimits>
  /** new offers each forwarding peer may pass on (default DEFAULT_OFFER_ADMISSION) */
  offerAdmission?: AdmissionLimits
  /** offers are taken only from authors whose escrow holds what they offer to lock (absent: no check) */
  funding?: OfferFunding
  /** how often our own live offers are gossiped again (default 150 s: longer than gossipsub's 120 s seen window) */
  reannounceIntervalMs?: number
  /**
   * ask each newly identified peer for its live offers, from the start (default true); false
   * leaves it to `startOfferSync`, for a node whose handlers are not attached yet
   */
  syncOnConnect?: boolean
  /** most offers taken from one peer's sync (default 2000) */
  maxSyncOffers?: number
  /** how often connected peers are checked for a gossip link gossipsub lost (default 5 s; 0: never) */
  gossipLinkCheckMs?: number
  /** gossipsub settings to override (e.g. heartbeat interval, seen TTL) */
  gossip?: Partial<GossipsubOpts>
  /** where libp2p reports its metrics; default none */
  metrics?: Libp2pNodeOptions['metrics']
  now?: () => number
  onError?: (err: unknown, context: string) => void
}

/** A validated message delivered to the node. */
export interface MeshDelivery {
  topic: TopicName
  /** the EIP-712 id */
  id: string
  verified: Verified
  envelope: Envelope
  /** the peer that gave it to us: the publisher (gossip) or the peer we synced from */
  from: string
  via: 'gossip' | 'sync'
}

export type DeliveryHandler = (delivery: MeshDelivery) => void
export type DirectMessageHandler = (message: ReceivedDirectMessage) => Promise<Uint8Array | void> | Uint8Array | void

export interface MeshNode extends Service {
  readonly peerId: PeerId
  /** the Ethereum address of the node key: the same party as `peerId` */
  readonly address: string
  readonly libp2p: Libp2pNode
  readonly network: string
  multiaddrs: () => Multiaddr[]
  dial: (target: Multiaddr | string | PeerId) => Promise<void>
  /** verifies, then gossips a signed message; returns its id and how many peers it went to directly */
  publish: (topic: TopicName, envelope: Envelope) => Promise<{ id: string, recipients: number }>
  /** subscribes a handler to validated messages on a topic; returns the unsubscribe function */
  onMessage: (topic: TopicName, handler: DeliveryHandler) => () => void
  /** sends a signed message on a direct protocol; resolves with the peer's reply payload */
  sendDirect: (peer: PeerId | Multiaddr | string, protocol: string, message: DirectMessage, options?: SendOptions) => Promise<Uint8Array>
  /** serves a direct protocol; each message is verified and bound to its sender before the handler runs */
  handleDirect: (protocol: string, handler: DirectMessageHandler) => Promise<void>
  /** raw frames on a direct protocol (no message checks) */
  request: (peer: PeerId | Multiaddr | string, protocol: string, frame: Uint8Array, options?: SendOptions) => Promise<Uint8Array>
  handleRaw: (protocol: string, handler: (frame: Uint8Array, peer: PeerId, signal: AbortSignal) => Promise<Uint8Array> | Uint8Array) => Promise<void>
  /** asks a peer for its live offers; returns how many were new and valid */
  syncOffers: (peer: PeerId | Multiaddr | string, options?: SendOptions) => Promise<number>
  /** from now on asks each newly identified peer for its live offers, and asks every peer connected now */
  startOfferSync: () => void
  /** the live offers this node holds (own and others') */
  liveOffers: () => Array<{ topic: TopicName, id: string, author: string, expiry: number, own: boolean }>
  /** blocks a peer (ban or partition): hangs up and refuses connections until `ungate` */
  gate: (peer: PeerId | string, reason: string) => Promise<void>
  ungate: (peer: PeerId | string) => void
  isGated: (peer: PeerId | string) => boolean
  /** gossipsub's score of a peer */
  score: (peer: PeerId | string) => number
  readonly scoreThresholds: typeof SCORE_THRESHOLDS
  /** validation counts by topic, result and code */
  validationCounters: () => ValidationCounter[]
  validationCount: GossipValidationAdapter['countOf']
  stop: () => Promise<void>
}

function toPeerId (peer: PeerId | string): PeerId {
  return typeof peer === 'string' ? peerIdFromString(peer) : peer
}

function toTarget (peer: PeerId | Multiaddr | string): PeerId | Multiaddr {
  if (typeof peer !== 'string') return peer
  return peer.startsWith('/') ? multiaddr(peer) : peerIdFromString(peer)
}

export async function createMeshNode (options: MeshNodeOptions): Promise<MeshNode> {
  const now = options.now ?? Date.now
  const onError = options.onError ?? (() => {})
  const network = options.network
  const topics = options.topics ?? TOPIC_NAMES
  const topicStrings = new Map(topics.map(t => [gossipTopic(network, t), t]))
  const limits: DirectLimits = { ...DEFAULT_DIRECT_LIMITS, ...options.direct }
  const selfPeer = peerIdOfKey(options.privateKey)
  const selfAddress = addressOfPeer(selfPeer) as string

  const seen = new SeenCache()
  const state = new MeshState(options.meshState)
  const blockList = new PeerBlockList()
  const penalties = new DirectPenalties(now)
  const adapter = new GossipValidationAdapter({
    domain: options.domain, seen, state, now, maxQueuedValidations: options.maxQueuedValidations,
    offerAdmission: options.offerAdmission ?? DEFAULT_OFFER_ADMISSION,
    ...(options.funding === undefined ? {} : { funding: options.funding }),
    onInternalError: err => { onError(err, 'gossip validation') }
  })

  const libp2p = await createLibp2pNode({
    privateKey: options.privateKey,
    listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'],
    announce: options.announce,
    bootstrap: options.bootstrap,
    relays: options.relays,
    relayServer: options.relayServer,
    mdns: options.mdns,
    maxConnections: options.maxConnections,
    datastore: options.datastore,
    metrics: options.metrics,
    peerRouting: options.peerRouting === true ? { network } : undefined,
    connectionGater: blockList.gater(),
    gossip: {
      // StrictSign stays: its signed `from` is the only proof of who published a message (relays
      // keep it), and the validators bind each message's author to it (WRONG_AUTHOR). Without it
      // a peer could republish anyone's signed offer unpunished; the EIP-712 signature proves
      // authorship, not publication.
      globalSignaturePolicy: StrictSign,
      msgIdFn: (msg: Message) => gossipMessageId(msg.data),
      // The same content id, computed before gossipsub checks the envelope's libp2p signature:
      // the copies a node gets from its other mesh peers (about 3.5 of each message in a
      // 30-node mesh) are dropped as duplicates unverified, instead of each costing a signature
      // check. Ids depend on the data alone either way, so what counts as a duplicate is
      // unchanged; only a copy with a broken libp2p signature of data already seen is now
      // ignored as a duplicate rather than penalised.
      fastMsgIdFn: (msg: RPC.Message) => Buffer.from(gossipMessageId(msg.data ?? new Uint8Array(0))).toString('base64'),
      allowPublishToZeroTopicPeers: true,
      ignoreDuplicatePublishError: true,
      emitSelf: false,
      fallbackToFloodsub: false,
      allowedTopics: [...topicStrings.keys()],
      maxInboundDataLength: 64 * 1024,
      scoreParams: peerScoreParams([...topicStrings.keys()], penalties.score),
      scoreThresholds: SCORE_THRESHOLDS,
      ...options.gossip
    }
  })
  const pubsub = libp2p.services.pubsub
  const direct = new DirectProtocols(libp2p, limits, (peer, code) => {
    penalties.add(peer.toString(), code === 'RATE_LIMITED' ? 10 : 50)
  })

  const handlers = new Map<TopicName, Set<DeliveryHandler>>()
  const accepted = new WeakMap<Uint8Array, Verified>()
  const deliver = (delivery: MeshDelivery): void => {
    for (const handler of handlers.get(delivery.topic) ?? []) {
      try {
        handler(delivery)
      } catch (err) {
        onError(err, `handler for ${delivery.topic}`)
      }
    }
  }

  for (const [topicString, name] of topicStrings) {
    pubsub.topicValidators.set(topicString, async (propagationSource, msg) => {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      const outcome = await adapter.validateQueued(name, msg.data, addressOfPeer(msg.from), propagationSource.toString())
      if (outcome.result === 'accept') {
        accepted.set(msg.data, outcome.verified)
        return TopicValidatorResult.Accept
      }
      return outcome.result === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
    })
  }
  pubsub.addEventListener('gossipsub:message', (event: CustomEvent<GossipsubMessage>) => {
    const { msg } = event.detail
    const name = topicStrings.get(msg.topic)
    const verified = accepted.get(msg.data)
    if (name === undefined || verified === undefined) return
    accepted.delete(msg.data)
    deliver({ topic: name, id: verified.id, verified, envelope: verified.envelope, from: msg.type === 'signed' ? msg.from.toString() : event.detail.propagationSource.toString(), via: 'gossip' })
  })

  const maxSyncOffers = options.maxSyncOffers ?? 2000
  const syncOffers = async (peer: PeerId | Multiaddr | string, sendOptions: SendOptions = {}): Promise<number> => {
    const target = toTarget(peer)
    let added = 0
    await fetchOffers(direct, target, maxSyncOffers, sendOptions, async (topic, bytes, from) => {
      if (!topicStrings.has(gossipTopic(network, topic))) return
      const outcome = await adapter.validateSynced(topic, bytes)
      if (outcome.result === 'reject') {
        penalties.add(from.toString(), 50)
        throw new MeshError('INVALID_MESSAGE', `peer ${from.toString()} served an invalid offer: ${outcome.reason}`)
      }
      if (outcome.result !== 'accept') return
      added++
      deliver({ topic, id: outcome.verified.id, verified: outcome.verified, envelope: outcome.verified.envelope, from: from.toString(), via: 'sync' })
    })
    return added
  }

  await libp2p.start()
  for (const topicString of topicStrings.keys()) pubsub.subscribe(topicString)
  await serveOffers(direct, () => state.liveOffers(now()).filter(o => OFFER_TOPICS.includes(o.topic)), limits.maxFrameBytes)

  // a sync cut short by our own stop is no fault of the peer's, nor worth a warning
  let stopping = false
  let syncing = false
  const syncWith = (peer: PeerId): void => {
    // only a peer serving bad offers is worth a warning; one that hung up or left mid-sync is not
    syncOffers(peer).catch(err => { if (!stopping && isMeshError(err, 'INVALID_MESSAGE')) onError(err, `offer sync with ${peer.toString()}`) })
  }
  const onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    // offer sync stays off relayed connections (direct.ts): a peer reached only through a relay is skipped
    if (!syncing || event.detail.connection.limits !== undefined || !event.detail.protocols.includes(DIRECT_PROTOCOLS.offers)) return
    syncWith(event.detail.peerId)
  }
  libp2p.addEventListener('peer:identify', onIdentify as never)
  const startOfferSync = (): void => {
    if (syncing) return
    syncing = true
    // peers identified before now were skipped: ask those that serve offers
    for (const peer of libp2p.getPeers()) {
      if (libp2p.getConnections(peer).every(c => c.limits !== undefined)) continue
      libp2p.peerStore.get(peer).then(p => { if (p.protocols.includes(DIRECT_PROTOCOLS.offers)) syncWith(peer) }, () => undefined)
    }
  }
  if (options.syncOnConnect ?? true) startOfferSync()
  const onDiscovery = (event: CustomEvent<PeerInfo>): void => {
    if (blockList.isBlocked(event.detail.id) || libp2p.getConnections(event.detail.id).length > 0) return
    // a discovered peer may be long gone (the DHT remembers peers that left): no fault of anyone's
    libp2p.dial(event.detail.id).catch(() => undefined)
  }
  libp2p.addEventListener('peer:discovery', onDiscovery)

  const reannounce = setInterval(() => {
    const at = now()
    state.prune(at)
    seen.prune(at)
    for (const offer of state.liveOffers(at)) {
      if (!offer.own) continue
      pubsub.publish(gossipTopic(network, offer.topic), offer.bytes).catch(err => { onError(err, `re-announce ${offer.id}`) })
    }
  }, options.reannounceIntervalMs ?? 150_000)
  reannounce.unref()
  const linkCheckMs = options.gossipLinkCheckMs ?? 5_000
  const linkWatch = linkCheckMs > 0
    ? watchGossipLinks(libp2p, pubsub, {
      intervalMs: linkCheckMs,
      onRepair: peer => { onError(new Error(`gossip with ${peer.toString()} was lost on an open connection: reconnecting`), 'gossip link watch') }
    })
    : undefined

  const node: MeshNode = {
    peerId: libp2p.peerId,
    address: selfAddress,
    libp2p,
    network,
    multiaddrs: () => libp2p.getMultiaddrs(),
    dial: async target => {
      await libp2p.dial(typeof target === 'string' ? multiaddr(target) : target)
    },
    publish: async (topic, envelope) => {
      const topicString = gossipTopic(network, topic)
      if (!topicStrings.has(topicString)) throw new MeshError('UNKNOWN_TOPIC', `not subscribed to ${topic}`)
      if (envelope.type !== TOPIC_MESSAGE_TYPE[topic]) throw new MeshError('UNKNOWN_TOPIC', `a ${envelope.type} does not belong on ${topic}`)
      const verified = verifyEnvelope(options.domain, envelope, { now: now() })
      const bytes = encodeEnvelope(verified.envelope)
      remember(state, seen, topic, verified, bytes, true)
      const result = await pubsub.publish(topicString, bytes)
      return { id: verified.id, recipients: result.recipients.length }
    },
    onMessage: (topic, handler) => {
      let set = handlers.get(topic)
      if (set === undefined) handlers.set(topic, set = new Set())
      set.add(handler)
      return () => { set.delete(handler) }
    },
    sendDirect: async (peer, protocol, message, sendOptions) => await direct.send(toTarget(peer), protocol, encodeDirectMessage(message), sendOptions),
    handleDirect: async (protocol, handler) => {
      await direct.handle(protocol, async ({ frame, peer }) => {
        const received = decodeDirectMessage(options.domain, frame, peer, now())
        return (await handler({ protocol, ...received })) ?? new Uint8Array(0)
      })
    },
    request: async (peer, protocol, frame, sendOptions) => await direct.send(toTarget(peer), protocol, frame, sendOptions),
    handleRaw: async (protocol, handler) => {
      await direct.handle(protocol, async ({ frame, peer, signal }) => await handler(frame, peer, signal))
    },
    syncOffers,
    startOfferSync,
    liveOffers: () => state.liveOffers(now()).map(o => ({ topic: o.topic, id: o.id, author: o.author, expiry: o.expiry, own: o.own })),
    gate: async (peer, reason) => {
      const id = toPeerId(peer)
      blockList.block(id, reason)
      await libp2p.hangUp(id).catch(err => { onError(err, `hang up ${id.toString()}`) })
    },
    ungate: peer => { blockList.unblock(peer) },
    isGated: peer => blockList.isBlocked(peer),
    score: peer => (pubsub as unknown as { getScore: (peer: string) => number }).getScore(peer.toString()),
    scoreThresholds: SCORE_THRESHOLDS,
    validationCounters: () => adapter.counters(),
    validationCount: filter => adapter.countOf(filter),
    stop: async () => {
      stopping = true
      clearInterval(reannounce)
      linkWatch?.stop()
      libp2p.removeEventListener('peer:identify', onIdentify as never)
      libp2p.removeEventListener('peer:discovery', onDiscovery)
      await libp2p.stop()
    }
  }
  return node
}
