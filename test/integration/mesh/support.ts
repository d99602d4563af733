/** Helpers for mesh tests on 127.0.0.1: nodes on random ports, waiting on conditions. */
import type { Message } from '@libp2p/gossipsub'
import { StrictSign } from '@libp2p/gossipsub'
import { createLibp2pNode, createMeshNode, gossipMessageId, type Libp2pNode, type MeshDelivery, type MeshNode, type MeshNodeOptions, type TopicName } from '../../../src/protocols/mesh/index.ts'
import { domain, NETWORK, wallet } from '../../unit/protocols/mesh/fixtures.ts'

/** Faster heartbeats than the 1 s default, so meshes form within a test's patience. */
export const TEST_GOSSIP = { heartbeatInterval: 100 }

export async function meshNode (n: number, overrides: Partial<MeshNodeOptions> = {}): Promise<MeshNode> {
  return await createMeshNode({ privateKey: wallet(n).privateKey, network: NETWORK, domain, gossip: TEST_GOSSIP, ...overrides })
}

/** A bare gossipsub node with no validators: it publishes whatever bytes it is told to. */
export async function rawGossipNode (n: number, gossip: Record<string, unknown> = {}): Promise<Libp2pNode> {
  const node = await createLibp2pNode({
    privateKey: wallet(n).privateKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    gossip: {
      globalSignaturePolicy: StrictSign,
      msgIdFn: (msg: Message) => gossipMessageId(msg.data),
      allowPublishToZeroTopicPeers: true,
      fallbackToFloodsub: false,
      ...TEST_GOSSIP,
      ...gossip
    }
  })
  await node.start()
  return node
}

export async function waitFor (condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
  return Date.now() - started
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Records every delivery a node makes, per topic. */
export class Inbox {
  readonly deliveries: MeshDelivery[] = []

  constructor (node: MeshNode, topics: TopicName[]) {
    for (const topic of topics) node.onMessage(topic, d => { this.deliveries.push(d) })
  }

  count (id: string): number {
    return this.deliveries.filter(d => d.id === id).length
  }

  has (id: string): boolean {
    return this.count(id) > 0
  }
}
