// Gossip: offer propagation across a 30-node mesh on loopback, and how fast one node validates.
import '../src/polyfills.ts'
import { encodeEnvelope, verifyEnvelope } from '../src/protocols/messages/index.ts'
import {
  createMeshNode, gossipTopic, GossipValidationAdapter, MeshState, SeenCache, type MeshNode
} from '../src/protocols/mesh/index.ts'
import { domain, NETWORK, resourceOffer, wallet } from '../test/unit/mesh/fixtures.ts'
import { report, round } from './report.ts'

const NODES = 30
const DIALS_PER_NODE = 4
/** offers are published one at a time, each once the last has reached every node (or 3 s passed): latency, not queueing */
const MESSAGES = 40
const VALIDATIONS = 3000

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

async function propagation (): Promise<void> {
  const nodes: MeshNode[] = []
  for (let i = 0; i < NODES; i++) nodes.push(await createMeshNode({ privateKey: wallet(1000 + i).privateKey, network: NETWORK, domain, syncOnConnect: false }))
  const topic = gossipTopic(NETWORK, 'resource-offers')
  try {
    // a ring plus deterministic chords: connected, with no node more than a few hops from any other
    for (let i = 0; i < NODES; i++) {
      for (let k = 1; k <= DIALS_PER_NODE; k++) {
        const j = (i + k * k * 3 + 1) % NODES
        if (j !== i) await nodes[i]!.dial(nodes[j]!.multiaddrs()[0]!).catch(() => undefined)
      }
    }
    const meshSize = (n: MeshNode): number => (n.libp2p.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(topic).length
    const started = Date.now()
    while (nodes.some(n => meshSize(n) < 3) && Date.now() - started < 20_000) await sleep(100)

    const sentAt = new Map<string, number>()
    const latencies: number[] = []
    let delivered = 0
    for (const node of nodes) {
      node.onMessage('resource-offers', d => {
        const at = sentAt.get(d.id)
        if (at !== undefined) { latencies.push(performance.now() - at); delivered++ }
      })
    }
    const now = Date.now()
    const offers = Array.from({ length: MESSAGES }, (_, i) => ({ from: i % NODES, envelope: resourceOffer(wallet(1000 + (i % NODES)), now, { slot: i }) }))
    for (const [i, { from, envelope }] of offers.entries()) {
      const id = verifyEnvelope(domain, envelope).id
      sentAt.set(id, performance.now())
      await nodes[from]!.publish('resource-offers', envelope)
      const waitStart = Date.now()
      while (delivered < (i + 1) * (NODES - 1) && Date.now() - waitStart < 3000) await sleep(2)
    }
    const expected = MESSAGES * (NODES - 1)
    latencies.sort((a, b) => a - b)
    const extra = { nodes: NODES, messages: MESSAGES, delivered: `${delivered}/${expected}` }
    report({ bench: 'gossip', metric: 'propagation_p50_ms', value: round(percentile(latencies, 0.5)), unit: 'ms', ...extra })
    report({ bench: 'gossip', metric: 'propagation_p99_ms', value: round(percentile(latencies, 0.99)), unit: 'ms', goal: '<=100', ...extra })
  } finally {
    await Promise.all(nodes.map(async n => { await n.stop() }))
  }
}

function validation (): void {
  const now = Date.now()
  const authors = Array.from({ length: 50 }, (_, i) => wallet(2000 + i))
  const messages = Array.from({ length: VALIDATIONS }, (_, i) => {
    const author = authors[i % authors.length]!
    return { bytes: encodeEnvelope(resourceOffer(author, now, { slot: i })), publisher: author.address }
  })
  const adapter = new GossipValidationAdapter({ domain, seen: new SeenCache(), state: new MeshState(), now: () => now })
  const t0 = performance.now()
  for (const m of messages) {
    if (adapter.validate('resource-offers', m.bytes, m.publisher).result !== 'accept') throw new Error('a valid offer was refused')
  }
  const seconds = (performance.now() - t0) / 1000
  // the baseline: signature and schema checks alone, on fresh copies of the same messages
  const fresh = Array.from({ length: VALIDATIONS }, (_, i) => resourceOffer(authors[i % authors.length]!, now + 1, { slot: i }))
  const t1 = performance.now()
  for (const envelope of fresh) verifyEnvelope(domain, JSON.parse(JSON.stringify(envelope)))
  const baseline = VALIDATIONS / ((performance.now() - t1) / 1000)
  const value = VALIDATIONS / seconds
  report({ bench: 'gossip', metric: 'validate_per_s', value: round(value), unit: 'messages/s', baseline: round(baseline), ratio: round(value / baseline, 3), messages: VALIDATIONS })
}

export async function run (): Promise<void> {
  validation()
  await propagation()
}
