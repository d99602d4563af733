// Gossip: offer propagation across a 30-node mesh on loopback, and how fast one node validates.
//
// Propagation runs twice over the same mesh shape: once with the 30 nodes spread over a few worker
// threads (each its own event loop, as separate nodes would be), which is the figure held to the
// goal, and once with all 30 in one event loop, where every node's work queues behind every
// other's. Each run also reports the CPU time spent per delivery (all threads), so the two can be
// told apart: in one loop, a message's last delivery waits for 29 nodes' work done one after
// another, about 29 × cpu_ms_per_delivery, whatever the nodes themselves do; over T threads on
// C cores, about 29 × cpu_ms_per_delivery / min(T, C).
//
// Nodes in one thread share the message layer's memos (verification, parsing and hashing by
// content): of a message's 29 receivers, only the first in each thread pays for the envelope check
// (envelope_check_us), which a node on its own machine pays for every message. One node a thread
// would charge every node, but 30 V8 isolates on a 2-core machine cost far more than that check:
// each compiles its own code and they crowd the caches (44 ms of CPU per delivery in one such run,
// against 9 with all 30 in one loop), and starting them took minutes on a busy machine.
import '../src/polyfills.ts'
import { availableParallelism, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { hexToBytes } from '@noble/hashes/utils.js'
import { recoverAddress, Signature, TypedDataEncoder } from 'ethers'
import { encodeEnvelope, typesFor, verifyEnvelope, type Envelope } from '../src/protocols/messages/index.ts'
import { GossipValidationAdapter, MeshState, SeenCache } from '../src/protocols/mesh/index.ts'
import { domain, resourceOffer, wallet } from '../test/unit/protocols/mesh/fixtures.ts'
import type { HostCommand, HostEvent } from './gossip-mesh-host.ts'
import { report, round } from './report.ts'

const NODES = 30
const DIALS_PER_NODE = 4
/** offers are published one at a time, each once the last has reached every node (or 3 s passed): latency, not queueing */
const MESSAGES = 40
/** offers published first and not measured: each thread compiles its hot code (signature checks, codecs, gossipsub) as it first runs it */
const WARMUP = 20
const VALIDATIONS = 3000
/** node i's key is wallet(KEY_BASE + i); it signs the offers that node publishes */
const KEY_BASE = 1000
/** worker threads for the spread-out run: one per core, at least 3 */
const THREADS = Math.max(3, Math.min(availableParallelism(), 8))

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** One worker thread hosting some nodes; `ask` sends a command and waits for its reply. */
class Host {
  private readonly worker = new Worker(new URL('./gossip-mesh-host.mjs', import.meta.url))
  private readonly waiting = new Map<string, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()

  constructor (onDelivered: (id: string, at: number) => void) {
    this.worker.on('message', (event: HostEvent) => {
      if (event.event === 'delivered') onDelivered(event.id, event.at)
      else if (event.event === 'reply') this.waiting.get(event.cmd)?.resolve(event.value)
      else this.fail(new Error(`mesh host: ${event.message}`))
    })
    this.worker.on('error', err => { this.fail(err) })
  }

  private fail (err: Error): void {
    for (const { reject } of this.waiting.values()) reject(err)
    this.waiting.clear()
  }

  async ask<T> (command: HostCommand): Promise<T> {
    const reply = new Promise<T>((resolve, reject) => { this.waiting.set(command.cmd, { resolve: resolve as (value: unknown) => void, reject }) })
    this.worker.postMessage(command)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error(`mesh host: no reply to ${command.cmd}`)) }, 30_000) })
    try {
      return await Promise.race([reply, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  async close (): Promise<void> {
    await this.ask({ cmd: 'stop' }).catch(() => undefined)
    await this.worker.terminate()
  }
}

interface PropagationResult {
  latencies: number[]
  delivered: number
  /** CPU time of the whole process (every thread) while offers propagated, per delivery */
  cpuMsPerDelivery: number
}

/**
 * A ring plus deterministic chords over `threads` worker threads; offers published one at a time,
 * the first WARMUP of them unmeasured.
 */
async function propagation (threads: number, offers: Array<{ from: number, envelope: Envelope }>): Promise<PropagationResult> {
  const sentAt = new Map<string, number>()
  const arrivals: Array<{ id: string, at: number }> = []
  const arrived = new Map<string, number>()
  const hosts = Array.from({ length: threads }, () => new Host((id, at) => {
    arrivals.push({ id, at })
    arrived.set(id, (arrived.get(id) ?? 0) + 1)
  }))
  try {
    const hostOf = (i: number): Host => hosts[i % threads] as Host
    const addrs: string[] = []
    await Promise.all(hosts.map(async (host, h) => {
      const indices = Array.from({ length: NODES }, (_, i) => i).filter(i => i % threads === h)
      const started = await host.ask<Record<number, string>>({ cmd: 'start', indices, keyBase: KEY_BASE })
      for (const [i, addr] of Object.entries(started)) addrs[Number(i)] = addr
    }))
    let failedDials = 0
    for (let k = 1; k <= DIALS_PER_NODE; k++) {
      const links = Array.from({ length: NODES }, (_, i) => [i, (i + k * k * 3 + 1) % NODES] as const).filter(([i, j]) => i !== j)
      await Promise.all(hosts.map(async (host, h) => {
        failedDials += await host.ask<number>({ cmd: 'dial', links: links.filter(([i]) => i % threads === h).map(([i, j]) => [i, addrs[j] as string]) })
      }))
    }
    const formed = Date.now()
    let smallest = 0
    while (Date.now() - formed < 30_000) {
      smallest = Math.min(...(await Promise.all(hosts.map(async h => await h.ask<number[]>({ cmd: 'meshSizes' })))).flat())
      if (smallest >= 3) break
      await sleep(100)
    }
    if (smallest < 3) process.stderr.write(`bench gossip: after 30 s a node still has only ${smallest} mesh peer(s); ${failedDials} dial(s) failed\n`)
    const publish = async ({ from, envelope }: { from: number, envelope: Envelope }): Promise<void> => {
      const { id, sentAt: at } = await hostOf(from).ask<{ id: string, sentAt: number }>({ cmd: 'publish', index: from, envelope })
      sentAt.set(id, at)
      const waitStart = Date.now()
      while ((arrived.get(id) ?? 0) < NODES - 1 && Date.now() - waitStart < 3000) await sleep(2)
    }
    for (const offer of offers.slice(0, WARMUP)) await publish(offer)
    sentAt.clear()
    arrivals.length = 0
    const cpuBefore = process.cpuUsage()
    for (const offer of offers.slice(WARMUP)) await publish(offer)
    const cpu = process.cpuUsage(cpuBefore)
    // matched at the end: another thread's delivery may be seen before the publisher's reply
    const latencies = arrivals.flatMap(({ id, at }) => { const sent = sentAt.get(id); return sent === undefined ? [] : [at - sent] })
    const delivered = latencies.length
    return { latencies: latencies.sort((a, b) => a - b), delivered, cpuMsPerDelivery: delivered === 0 ? 0 : (cpu.user + cpu.system) / 1000 / delivered }
  } finally {
    await Promise.all(hosts.map(async h => { await h.close() }))
  }
}

function reportPropagation (result: PropagationResult, threads: number, suffix: string, goal: boolean): void {
  const extra = {
    nodes: NODES,
    threads,
    cores: availableParallelism(),
    messages: MESSAGES,
    delivered: `${result.delivered}/${MESSAGES * (NODES - 1)}`,
    cpu_ms_per_delivery: round(result.cpuMsPerDelivery, 3),
    loadavg: round(loadavg()[0] as number, 3)
  }
  report({ bench: 'gossip', metric: `propagation_p50_ms${suffix}`, value: round(percentile(result.latencies, 0.5)), unit: 'ms', ...extra })
  report({ bench: 'gossip', metric: `propagation_p99_ms${suffix}`, value: round(percentile(result.latencies, 0.99)), unit: 'ms', ...(goal ? { goal: '<=100' } : {}), ...extra })
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
  const verifySeconds = (performance.now() - t1) / 1000
  const value = VALIDATIONS / seconds
  const baseline = VALIDATIONS / verifySeconds
  report({ bench: 'gossip', metric: 'validate_per_s', value: round(value), unit: 'messages/s', baseline: round(baseline), ratio: round(value / baseline, 3), messages: VALIDATIONS })

  // the EIP-712 hash and signer recovery, against ethers' TypedDataEncoder and recoverAddress on the same messages
  const sample = fresh.slice(0, 300)
  const t2 = performance.now()
  for (const envelope of sample) {
    const id = TypedDataEncoder.hash(domain, typesFor('ResourceOffer'), envelope.message)
    if (recoverAddress(id, Signature.from(envelope.signatures[0])) !== envelope.message.author) throw new Error('ethers disagrees')
  }
  const ethersPerSecond = sample.length / ((performance.now() - t2) / 1000)
  report({
    bench: 'gossip', metric: 'verify_per_s', value: round(VALIDATIONS / verifySeconds), unit: 'messages/s',
    baseline: round(ethersPerSecond), ratio: round(baseline / ethersPerSecond, 3), baseline_is: 'ethers hash + recoverAddress, no schema'
  })
}

/**
 * What one delivery costs a receiving node in signature checks: gossipsub's check of the libp2p
 * signature (StrictSign), by @libp2p/crypto itself (@noble/curves), and ours of the envelope
 * (schema, EIP-712 hash, recovery), each on fresh messages.
 */
function checkCosts (): void {
  const key = privateKeyFromRaw(hexToBytes(wallet(KEY_BASE).privateKey.slice(2)))
  const payloads = Array.from({ length: 200 }, (_, i) => encodeEnvelope(resourceOffer(wallet(KEY_BASE), Date.now(), { slot: 10_000 + i })))
  const signed = payloads.map(p => ({ data: p, signature: key.sign(p) as Uint8Array }))
  const t0 = performance.now()
  for (const { data, signature } of signed) if (key.publicKey.verify(data, signature) !== true) throw new Error('libp2p signature refused')
  const libp2pUs = (performance.now() - t0) * 1000 / signed.length
  const t1 = performance.now()
  for (const bytes of payloads) verifyEnvelope(domain, JSON.parse(new TextDecoder().decode(bytes)))
  const envelopeUs = (performance.now() - t1) * 1000 / payloads.length
  report({ bench: 'gossip', metric: 'libp2p_signature_check_us', value: round(libp2pUs), unit: 'µs', note: 'gossipsub StrictSign by @libp2p/crypto, per delivery' })
  report({ bench: 'gossip', metric: 'envelope_check_us', value: round(envelopeUs), unit: 'µs', note: 'schema + EIP-712 hash + recovery, per delivery' })
}

export async function run (): Promise<void> {
  validation()
  checkCosts()
  // valid for 10 minutes: starting 30 nodes on a busy machine can take a while
  const offers = (slot: number): Array<{ from: number, envelope: Envelope }> => {
    const now = Date.now()
    return Array.from({ length: WARMUP + MESSAGES }, (_, i) => ({ from: i % NODES, envelope: resourceOffer(wallet(KEY_BASE + (i % NODES)), now, { slot: slot + i, expiry: now + 600_000 }) }))
  }
  reportPropagation(await propagation(THREADS, offers(0)), THREADS, '', true)
  reportPropagation(await propagation(1, offers(WARMUP + MESSAGES)), 1, '_one_loop', false)
}
