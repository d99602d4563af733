import type { Delivery, MessageTransport } from '../../src/actors/roles/transport.ts'
import type { SignedHead } from '../../src/protocols/messages/log-head.ts'

/** For unit tests of the role actors only: nodes in one process, delivering through a shared map. */
export class MemoryNetwork {
  private readonly nodes = new Map<string, MemoryTransport>()
  readonly published: Array<{ topic: string, delivery: Delivery }> = []

  /** `head`: the node's signed log head, sent with each direct message as the mesh does */
  join (address: string, head?: () => SignedHead): MemoryTransport {
    const transport = new MemoryTransport(address, this, head)
    this.nodes.set(address.toLowerCase(), transport)
    return transport
  }

  leave (address: string): void {
    this.nodes.delete(address.toLowerCase())
  }

  deliver (to: string, delivery: Delivery): void {
    const node = this.nodes.get(to.toLowerCase())
    if (node === undefined) throw new Error(`${to} is not reachable`)
    node.receive(structuredClone(delivery))
  }

  broadcast (from: string, topic: string, delivery: Delivery): void {
    this.published.push({ topic, delivery })
    for (const [address, node] of this.nodes) if (address !== from.toLowerCase()) node.receive(structuredClone({ ...delivery, topic }))
  }
}

export class MemoryTransport implements MessageTransport {
  private handler: ((delivery: Delivery) => void) | undefined
  constructor (readonly address: string, private readonly network: MemoryNetwork, private readonly head?: () => SignedHead) {}

  async publish (topic: string, delivery: Delivery): Promise<void> {
    this.network.broadcast(this.address, topic, delivery)
  }

  async send (address: string, delivery: Delivery): Promise<void> {
    const head = this.head?.()
    this.network.deliver(address, head === undefined ? delivery : { ...delivery, head })
  }

  onDelivery (handler: (delivery: Delivery) => void): void {
    this.handler = handler
  }

  receive (delivery: Delivery): void {
    setImmediate(() => this.handler?.(delivery))
  }
}
