// npm run bench -- metrics: the cost of one `GET /metrics` scrape of a busy provider.
//
// Not a whole node: a provider whose machine holds 10,000 ended deals would need as many signed
// deals run through its machine. The provider's context is built instead, 10,000 ended deals and a
// deal under way, and given to the real parts: DealActivity over a runtime that holds that
// context, the node's metrics (with 10,000 deals' worth of transitions and job runs recorded),
// libp2p's metrics from a real mesh node on the same registry, and the real route on an HTTP
// server. The figure is a whole request, HTTP included, the median of many.
import { createServer } from 'node:http'
import { performance } from 'node:perf_hooks'
import type { ActorRuntime } from '../src/actors/runtime/actor-runtime.ts'
import { DealActivity, type Activity } from '../src/node/activity/deal-activity.ts'
import { runtimeDealBook } from '../src/node/metrics/deal-book.ts'
import { libp2pMetrics } from '../src/node/metrics/libp2p-metrics.ts'
import { NodeMetrics } from '../src/node/metrics/node-metrics.ts'
import { metricsRoute } from '../src/node/server/metrics-route.ts'
import type { ApiContext } from '../src/node/server/routes.ts'
import { createMeshNode } from '../src/protocols/mesh/index.ts'
import type { Deal } from '../src/protocols/messages/schemas.ts'
import type { EndedDeal, ResourceProviderContext } from '../src/state-machines/resource-provider.machine.ts'
import { domain, NETWORK, wallet } from '../test/unit/protocols/mesh/fixtures.ts'
import { report, round } from './report.ts'

const BENCH = 'metrics'
const ENDED_DEALS = Number(process.env.BENCH_METRICS_DEALS ?? 10_000)
const SCRAPES = 50

const hex32 = (n: number): string => '0x' + n.toString(16).padStart(64, '0')

function dealTerms (n: number): Deal {
  return {
    jobOfferId: hex32(n), price: '1000000000000000', solverFee: '0', mediatorFee: '1000',
    paymentCollateral: '2000000000000000', jobCreatorTimeoutCollateral: '1000', resultsCollateral: '3000000000000000', timeoutCollateral: '1000'
  } as Deal
}

function providerContext (ended: number): ResourceProviderContext {
  const endedDeals: EndedDeal[] = Array.from({ length: ended }, (_, i) => ({
    slot: i % 4, deal: dealTerms(i), state: 'Accepted', resultsCid: `bafy${i}`, dealId: hex32(1_000_000 + i), mediateDeadline: 1_800_000_000_000 + i
  }))
  const live = hex32(2_000_000)
  return {
    endedDeals,
    deals: { [live]: { slot: 0, deal: dealTerms(ended), state: 'Agreed', resultsCid: null } },
    proposals: []
  } as unknown as ResourceProviderContext
}

/** A runtime holding one provider stream, for DealActivity and the deal book: all they read of it. */
function providerRuntime (context: ResourceProviderContext): ActorRuntime {
  return {
    streams: () => ['resource-provider'],
    snapshot: (stream: string) => stream === 'resource-provider' ? { context } : undefined,
    pendingOutputs: () => [],
    subscribe: () => () => {}
  } as unknown as ActorRuntime
}

/** What 10,000 deals' lives told the metrics: every state change, every job run and its settlement. */
function replayDeals (tell: (activity: Activity) => void, deals: number): void {
  const states = ['Matched', 'Agreed', 'ResultsSubmitted', 'Accepted'] as const
  for (let i = 0; i < deals; i++) {
    const dealId = hex32(1_000_000 + i)
    const at = 1_700_000_000_000 + i * 10_000
    let from: typeof states[number] | null = null
    for (const to of states) {
      tell({ kind: 'deal', role: 'resource-provider', stream: 'resource-provider', jobOfferId: hex32(i), dealId, from, to, resultsCid: null, at })
      from = to
    }
    tell({ kind: 'effect.start', stream: 'resource-provider', id: `run:${dealId}`, type: 'job.run', dealId, at })
    tell({ kind: 'effect.end', stream: 'resource-provider', id: `run:${dealId}`, type: 'job.run', dealId, at: at + 1000 + (i % 50) * 100 })
    tell({ kind: 'effect.end', stream: 'resource-provider', id: `settle:${dealId}`, type: 'chain.settle', dealId, at: at + 5000 })
  }
}

export async function run (): Promise<void> {
  const metrics = new NodeMetrics()
  const mesh = await createMeshNode({ privateKey: wallet(1).privateKey, network: NETWORK, domain, syncOnConnect: false, metrics: libp2pMetrics(metrics.registry) })
  const runtime = providerRuntime(providerContext(ENDED_DEALS))
  const activity = new DealActivity(runtime)
  const listeners: Array<(a: Activity) => void> = []
  metrics.follow({
    activity: { subscribe: (listener) => { listeners.push(listener); return activity.subscribe(listener) }, current: () => activity.current() },
    deals: runtimeDealBook(runtime),
    node: {
      peers: () => mesh.libp2p.getPeers().length,
      logRecords: () => ENDED_DEALS * 12,
      pendingEffects: () => 0,
      untakenMessages: () => 0,
      validation: () => mesh.validationCounters(),
      runsAhead: () => ({ started: ENDED_DEALS, taken: ENDED_DEALS, stopped: 0, refused: 0 })
    }
  })
  replayDeals(a => { for (const l of listeners) l(a) }, ENDED_DEALS)
  for (let i = 0; i < 200; i++) metrics.chainTransaction({ method: i % 2 === 0 ? 'settleBatch' : 'commitResults', gasUsed: 90_000n })

  const api = { node: { metrics } } as unknown as ApiContext
  const server = createServer((req, res) => {
    Promise.resolve(metricsRoute(req, res, api)).then((handled) => { if (!handled) res.writeHead(404).end() }, () => res.writeHead(500).end())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  try {
    const scrape = async (): Promise<{ ms: number, bytes: number }> => {
      const start = performance.now()
      const res = await fetch(`http://127.0.0.1:${port}/metrics`)
      const text = await res.text()
      if (res.status !== 200 || !text.includes('lilypad_deals{role="resource-provider",state="Accepted"} ' + String(ENDED_DEALS))) throw new Error(`a scrape answered ${res.status}`)
      return { ms: performance.now() - start, bytes: text.length }
    }
    for (let i = 0; i < 5; i++) await scrape()
    const times: number[] = []
    let bytes = 0
    for (let i = 0; i < SCRAPES; i++) {
      const one = await scrape()
      times.push(one.ms)
      bytes = one.bytes
    }
    times.sort((a, b) => a - b)
    report({
      bench: BENCH,
      metric: 'scrape_10k_ended_deals_ms',
      value: round(times[Math.floor(times.length / 2)]!),
      unit: 'ms',
      goal: '<=100',
      p95: round(times[Math.floor(times.length * 0.95)]!),
      deals: ENDED_DEALS,
      bytes
    })
  } finally {
    await new Promise<void>(resolve => server.close(() => resolve()))
    activity.stop()
    await mesh.stop()
  }
}
