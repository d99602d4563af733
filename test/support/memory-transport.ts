import type { Delivery, MessageTransport } from '../../src/actors/roles/transport.ts'

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
  constructor (readonly address: string, private readonly network: MemoryNetwork) {}

  async publish (topic: string, delivery: Delivery): Promise<void> {
    this.network.broadcast(this.address, topic, delivery)
  }

  async send (address: string, delivery: Delivery): Promise<void> {
    this.network.deliver(address, delivery)
  }

  onDelivery (handler: (delivery: Delivery) => void): void {
    this.handler = handler
  }

  receive (delivery: Delivery): void {
    setImmediate(() => this.handler?.(delivery))
  }
}
