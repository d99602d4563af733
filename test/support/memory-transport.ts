import type { Delivery, HeadWitness, MessageTransport } from '../../src/actors/roles/transport.ts'
import type { HeadLink } from '../../src/actors/roles/log-witness.ts'
import type { SignedHead } from '../../src/protocols/messages/log-head.ts'

/** For unit tests of the role actors only: nodes in one process, delivering through a shared map. */
export class MemoryNetwork {
  private readonly nodes = new Map<string, MemoryTransport>()
  readonly published: Array<{ topic: string, delivery: Delivery }> = []

  join (address: string): MemoryTransport {
    const transport = new MemoryTransport(address, this)
    this.nodes.set(address.toLowerCase(), transport)
    return transport
  }

  leave (address: string): void {
    this.nodes.delete(address.toLowerCase())
  }

  private node (address: string): MemoryTransport {
    const node = this.nodes.get(address.toLowerCase())
    if (node === undefined) throw new Error(`${address} is not reachable`)
    return node
  }

  /** `from`: the sender of a direct message */
  deliver (to: string, delivery: Delivery, from?: string): void {
    this.node(to).receive(from, structuredClone(delivery))
  }

  broadcast (from: string, topic: string, delivery: Delivery): void {
    this.published.push({ topic, delivery })
    for (const [address, node] of this.nodes) if (address !== from.toLowerCase()) node.receive(undefined, structuredClone({ ...delivery, topic }))
  }

  async exchangeHead (from: string, to: string, head: SignedHead): Promise<SignedHead> {
    const witness = this.node(to).witness
    if (witness === undefined) throw new Error(`${to} keeps no witness of heads`)
    return structuredClone(await witness.serve(from, structuredClone(head)))
  }
}

export class MemoryTransport implements MessageTransport, HeadLink {
  /** signs the head sent with each direct message and answers head notices, as the mesh's does */
  witness: HeadWitness | undefined
  private handler: ((delivery: Delivery) => void) | undefined
  constructor (readonly address: string, private readonly network: MemoryNetwork) {}

  async publish (topic: string, delivery: Delivery): Promise<void> {
    this.network.broadcast(this.address, topic, delivery)
  }

  async send (address: string, delivery: Delivery): Promise<void> {
    const head = this.witness?.head(address)
    this.network.deliver(address, head === undefined ? delivery : { ...delivery, head }, this.address)
  }

  async exchangeHead (address: string, head: SignedHead): Promise<SignedHead> {
    return await this.network.exchangeHead(this.address, address, head)
  }

  onDelivery (handler: (delivery: Delivery) => void): void {
    this.handler = handler
  }

  /** `from`: the sender of a direct message; none for gossip */
  receive (from: string | undefined, delivery: Delivery): void {
    if (from !== undefined) this.witness?.heard(from)
    setImmediate(() => this.handler?.(delivery))
  }
}
