import type { PeerId } from '@libp2p/interface'
import type { MessageType } from '../../protocols/messages/eip712-types.ts'
import { DIRECT_PROTOCOLS } from '../../protocols/mesh/direct.ts'
import type { MeshNode } from '../../protocols/mesh/mesh-node.ts'
import { addressOfPeer } from '../../protocols/mesh/peer-identity.ts'
import { MACHINE_TOPICS, TOPIC_NAMES, type TopicName } from '../../protocols/mesh/topics.ts'
import type { Delivery, HeadWitness, MessageTransport } from '../../actors/roles/transport.ts'
import { headSigner, isSignedHead, type SignedHead } from '../../protocols/messages/log-head.ts'
import type { HeadLink } from '../../actors/roles/log-witness.ts'

const NEGOTIATION: readonly MessageType[] = ['MatchProposal', 'Deal']

function protocolFor (type: MessageType): string {
  return NEGOTIATION.includes(type) ? DIRECT_PROTOCOLS.deal : DIRECT_PROTOCOLS.results
}

/** deliveries kept for the role actors while they start (replaying their log can take seconds) */
const EARLY_LIMIT = 10_000

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** A head frame's signed head, signed by `address`; throws otherwise. */
function headFrom (frame: Uint8Array, address: string | undefined): SignedHead {
  let head: unknown
  try {
    head = JSON.parse(decoder.decode(frame))
  } catch {
    throw new Error('a head frame is UTF-8 JSON')
  }
  if (!isSignedHead(head)) throw new Error('not a signed head (seq, hash, signer, signature)')
  if (address === undefined || headSigner(head)?.toLowerCase() !== address.toLowerCase()) throw new Error(`the head is not signed by ${address ?? 'the peer'}`)
  return head
}

const machineTopicOf = Object.fromEntries(Object.entries(MACHINE_TOPICS).map(([machine, name]) => [name, machine])) as Record<TopicName, string>

/**
 * The role actors' transport over the libp2p mesh: machine topics become gossip topics, messages
 * to a party go over a direct protocol to the peer whose key is that party's address (a secp256k1
 * peer id carries its public key, so every peer's address is known from its id). The node's own
 * publications are also handed to its own roles, as gossipsub does not echo them.
 */
export class MeshTransport implements MessageTransport, HeadLink {
  /** signs the head each direct message carries, and answers head notices; none: no heads */
  witness: HeadWitness | undefined
  private handler: ((delivery: Delivery) => void) | undefined
  /** what came before anyone listened: handed over, in order, by `onDelivery` */
  private readonly early: Delivery[] = []
  // a deal that overtakes its proposal is held by the provider's machine, in its log, not here
  constructor (private readonly mesh: MeshNode) {}

  get address (): string {
    return this.mesh.address
  }

  async start (): Promise<void> {
    for (const name of TOPIC_NAMES) {
      // gossip is best effort: past the limit it is dropped (offers come back by offer sync)
      this.mesh.onMessage(name, (d) => { if (!this.full()) this.hand({ envelope: d.envelope, attachments: [], topic: machineTopicOf[name] }) })
    }
    for (const protocol of [DIRECT_PROTOCOLS.deal, DIRECT_PROTOCOLS.results]) {
      await this.mesh.handleDirect(protocol, (message) => {
        // a direct message is acknowledged once taken: one the node cannot keep yet is refused, and the sender tries again
        if (this.full()) throw new Error('this node is starting and holds too many messages already')
        this.witness?.heard(message.address)
        this.hand({ envelope: message.envelope, attachments: message.attachmentEnvelopes, ...(message.head === undefined ? {} : { head: message.head }) })
      })
    }
    await this.mesh.handleRaw(DIRECT_PROTOCOLS.head, async (frame, peer) => {
      if (this.witness === undefined) throw new Error('this node keeps no witness of heads')
      const receipt = await this.witness.serve(addressOfPeer(peer) ?? peer.toString(), headFrom(frame, addressOfPeer(peer)))
      return encoder.encode(JSON.stringify(receipt))
    })
  }

  /** Sends this node's head to the node whose key is `address`; resolves with its own, signed. */
  async exchangeHead (address: string, head: SignedHead, signal?: AbortSignal): Promise<SignedHead> {
    const peer = await this.peerOf(address)
    const answer = await this.mesh.request(peer, DIRECT_PROTOCOLS.head, encoder.encode(JSON.stringify(head)), { signal })
    return headFrom(answer, address)
  }

  /**
   * The mesh takes messages as soon as the transport starts, before the role actors listen: a
   * message dropped then would be lost for good, since its sender counts it delivered.
   */
  onDelivery (handler: (delivery: Delivery) => void): void {
    this.handler = handler
    for (const delivery of this.early.splice(0)) handler(delivery)
  }

  private hand (delivery: Delivery): void {
    if (this.handler !== undefined) this.handler(delivery)
    else this.early.push(delivery)
  }

  private full (): boolean {
    return this.handler === undefined && this.early.length >= EARLY_LIMIT
  }

  async publish (topic: string, delivery: Delivery): Promise<void> {
    const name = MACHINE_TOPICS[topic]
    if (name === undefined) throw new Error(`no gossip topic for ${topic}`)
    await this.mesh.publish(name, delivery.envelope)
    const local = { envelope: structuredClone(delivery.envelope), attachments: [], topic }
    setImmediate(() => this.hand(local))
  }

  async send (address: string, delivery: Delivery, signal?: AbortSignal): Promise<void> {
    if (address.toLowerCase() === this.address.toLowerCase()) {
      const local = structuredClone({ envelope: delivery.envelope, attachments: delivery.attachments })
      setImmediate(() => this.hand(local))
      return
    }
    const peer = await this.peerOf(address)
    // the log's head as it stands, signed: every message a counterparty holds proves how long the log was
    const head = this.witness?.head(address)
    await this.mesh.sendDirect(peer, protocolFor(delivery.envelope.type), { envelope: delivery.envelope, attachments: delivery.attachments, ...(head === undefined ? {} : { head }) }, { signal })
  }

  /** The peer whose key is `address`, among the peers this node knows. */
  async peerOf (address: string): Promise<PeerId> {
    const wanted = address.toLowerCase()
    const match = (peer: PeerId): boolean => addressOfPeer(peer)?.toLowerCase() === wanted
    // the connections' own peer ids: getPeers() makes each anew from a string, its key decompressed
    const connected = this.mesh.libp2p.getConnections().find(c => match(c.remotePeer))?.remotePeer
    if (connected !== undefined) return connected
    for (const peer of await this.mesh.libp2p.peerStore.all()) if (match(peer.id)) return peer.id
    throw new Error(`no known peer has the address ${address}`)
  }
}
