import type { Envelope } from '../../protocols/messages/envelope.ts'
import type { SignedHead } from '../../protocols/messages/log-head.ts'

/** A signed message as it reaches a node, with the signed messages its sender attached as context. */
export interface Delivery {
  envelope: Envelope
  attachments: Envelope[]
  /** the gossip topic it came on; absent for a direct message */
  topic?: string
  /** a direct message's sender's log head as it sent it, under the sender's signature (logged with the message) */
  head?: SignedHead
}

/**
 * How role actors reach other nodes. The mesh implements it over libp2p (gossipsub for topics,
 * direct streams for parties); every delivery it hands over has passed its validators.
 */
export interface MessageTransport {
  /** the address this node signs as */
  readonly address: string
  publish (topic: string, delivery: Delivery): Promise<void>
  /** to the node whose key is `address`; rejects when it cannot be reached */
  send (address: string, delivery: Delivery, signal?: AbortSignal): Promise<void>
  onDelivery (handler: (delivery: Delivery) => void): void
}

/**
 * What a transport asks of the node's log witness (log-witness.ts): the signed head to send with a
 * message, word of whom a direct message came from, and the answer to a counterparty's head notice.
 */
export interface HeadWitness {
  head (to: string): SignedHead
  heard (from: string): void
  serve (from: string, head: SignedHead): Promise<SignedHead>
}
