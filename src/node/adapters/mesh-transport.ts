import type { PeerId } from '@libp2p/interface'
import type { MessageType } from '../../protocols/messages/eip712-types.ts'
import { DIRECT_PROTOCOLS } from '../../protocols/mesh/direct.ts'
import type { MeshNode } from '../../protocols/mesh/mesh-node.ts'
import { addressOfPeer } from '../../protocols/mesh/peer-identity.ts'
import { MACHINE_TOPICS, TOPIC_NAMES, type TopicName } from '../../protocols/mesh/topics.ts'
import type { Delivery, MessageTransport } from '../../actors/roles/transport.ts'

const NEGOTIATION: readonly MessageType[] = ['MatchProposal', 'Deal']

function protocolFor (type: MessageType): string {
  return NEGOTIATION.includes(type) ? DIRECT_PROTOCOLS.deal : DIRECT_PROTOCOLS.results
}

/** match proposal ids remembered, so that a deal arriving after its proposal is not held */
const SEEN_PROPOSALS = 1024

/** deliveries kept for the role actors while they start (replaying their log can take seconds) */
const EARLY_LIMIT = 10_000

const machineTopicOf = Object.fromEntries(Object.entries(MACHINE_TOPICS).map(([machine, name]) => [name, machine])) as Record<TopicName, string>

/**
 * The role actors' transport over the libp2p mesh: machine topics become gossip topics, messages
 * to a party go over a direct protocol to the peer whose key is that party's address (a secp256k1
 * peer id carries its public key, so every peer's address is known from its id). The node's own
 * publications are also handed to its own roles, as gossipsub does not echo them.
 */
export class MeshTransport implements MessageTransport {
  private handler: ((delivery: Delivery) => void) | undefined
  /** what came before anyone listened: handed over, in order, by `onDelivery` */
  private readonly early: Delivery[] = []
  private readonly proposalsSeen = new Set<string>()
  private readonly dealsWaiting = new Map<string, { timer: NodeJS.Timeout, release: () => void }>()

  // a proposal lives 15 s (the solver's proposal TTL): under load its copy can trail the deal by seconds
  constructor (private readonly mesh: MeshNode, private readonly dealWaitMs = 10_000) {}

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
        this.receiveDirect(message.verified.id, { envelope: message.envelope, attachments: message.attachmentEnvelopes })
      })
    }
  }

  /**
   * A solver sends its proposal to the job creator and the provider at once, so the creator's
   * signed deal can reach the provider before the solver's copy of the proposal does, and the
   * machine rejects a deal that follows no proposal it holds. Such a deal waits for its proposal
   * (at most `dealWaitMs`) and is handed over right after it (the role host applies deliveries in
   * the order it is handed them).
   */
  private receiveDirect (id: string, delivery: Delivery): void {
    const { envelope } = delivery
    if (envelope.type === 'MatchProposal') {
      this.proposalsSeen.add(id)
      if (this.proposalsSeen.size > SEEN_PROPOSALS) this.proposalsSeen.delete(this.proposalsSeen.values().next().value as string)
      this.hand(delivery)
      const waiting = this.dealsWaiting.get(id)
      if (waiting !== undefined) {
        clearTimeout(waiting.timer)
        waiting.release()
      }
      return
    }
    const proposalId = (envelope.message as { matchProposalId?: unknown }).matchProposalId
    const waitsForProposal = envelope.type === 'Deal' && envelope.signatures.length === 1 &&
      typeof proposalId === 'string' && !this.proposalsSeen.has(proposalId) && !this.dealsWaiting.has(proposalId)
    if (!waitsForProposal) {
      this.hand(delivery)
      return
    }
    const release = (): void => {
      this.dealsWaiting.delete(proposalId)
      this.hand(delivery)
    }
    this.dealsWaiting.set(proposalId, { timer: setTimeout(release, this.dealWaitMs).unref(), release })
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
    await this.mesh.sendDirect(peer, protocolFor(delivery.envelope.type), { envelope: delivery.envelope, attachments: delivery.attachments }, { signal })
  }

  /** The peer whose key is `address`, among the peers this node knows. */
  async peerOf (address: string): Promise<PeerId> {
    const wanted = address.toLowerCase()
    const match = (peer: PeerId): boolean => addressOfPeer(peer)?.toLowerCase() === wanted
    const connected = this.mesh.libp2p.getPeers().find(match)
    if (connected !== undefined) return connected
    for (const peer of await this.mesh.libp2p.peerStore.all()) if (match(peer.id)) return peer.id
    throw new Error(`no known peer has the address ${address}`)
  }
}
