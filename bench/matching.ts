// Matching throughput: n job offers against n resource offers with the solver's order book.
import { Wallet } from 'ethers'
import { compareJobs, compareOffers, mismatchReason, OrderBook, type MatchableJob, type MatchableOffer } from '../src/state-machines/matcher.ts'
import { report, round } from './report.ts'

const solver = new Wallet('0x' + '51'.repeat(32)).address
const mediators = Array.from({ length: 6 }, (_, i) => new Wallet('0x' + (0x60 + i).toString(16).repeat(32)).address)
const modules = Array.from({ length: 20 }, (_, i) => `github.com/lilypad/module-${i}`)
const shapes = [
  { cpu: 2000, gpu: 0, gpuVramMb: 0, ramMb: 4096, diskMb: 20_000, maxSubmitWithin: 3600_000 },
  { cpu: 4000, gpu: 0, gpuVramMb: 0, ramMb: 16_384, diskMb: 100_000, maxSubmitWithin: 3600_000 },
  { cpu: 8000, gpu: 1, gpuVramMb: 24_576, ramMb: 65_536, diskMb: 500_000, maxSubmitWithin: 10_800_000 },
  { cpu: 16_000, gpu: 2, gpuVramMb: 81_920, ramMb: 131_072, diskMb: 1_000_000, maxSubmitWithin: 10_800_000 },
  { cpu: 32_000, gpu: 8, gpuVramMb: 81_920, ramMb: 524_288, diskMb: 2_000_000, maxSubmitWithin: 10_800_000 }
]

/** a small deterministic generator, so every run measures the same book */
function lcg (seed: number): () => number {
  let s = seed >>> 0
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32 }
}

function book (n: number): { jobs: MatchableJob[], offers: MatchableOffer[] } {
  const r = lcg(n)
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)]!
  const offers: MatchableOffer[] = Array.from({ length: n }, (_, i) => ({
    id: `o${i}`,
    ...pick(shapes),
    modules: r() < 0.7 ? [] : [pick(modules), pick(modules)],
    price: BigInt(500 + Math.floor(r() * 1000)) * 10n ** 12n,
    trustedMediators: [pick(mediators), pick(mediators)],
    trustedSolvers: [solver],
    receivedAt: Math.floor(r() * 1e6)
  }))
  const jobs: MatchableJob[] = Array.from({ length: n }, (_, i) => {
    const shape = pick(shapes)
    return {
      id: `j${i}`,
      cpu: Math.floor(shape.cpu * (0.25 + r() * 0.75)),
      gpu: shape.gpu,
      gpuVramMb: Math.floor(shape.gpuVramMb * r()),
      ramMb: Math.floor(shape.ramMb * r()),
      diskMb: Math.floor(shape.diskMb * r()),
      submitWithin: Math.floor(shape.maxSubmitWithin * r()),
      moduleRepo: pick(modules),
      maxPrice: BigInt(700 + Math.floor(r() * 1000)) * 10n ** 12n,
      trustedMediators: [pick(mediators), pick(mediators), pick(mediators)],
      trustedSolvers: [solver],
      receivedAt: Math.floor(r() * 1e6)
    }
  })
  return { jobs, offers }
}

function measure (n: number): { perSecond: number, matched: number, ms: number, buildMs: number } {
  const { jobs, offers } = book(n)
  const t0 = performance.now()
  const ob = new OrderBook(offers, solver)
  const t1 = performance.now()
  const matched = ob.matchAll(jobs).length
  const ms = performance.now() - t0
  return { perSecond: matched / (ms / 1000), matched, ms, buildMs: t1 - t0 }
}

/** The baseline: every job checks every free offer (n*m). */
function measureScan (n: number): { perSecond: number, matched: number } {
  const { jobs, offers } = book(n)
  const t0 = performance.now()
  const taken = new Set<string>()
  let matched = 0
  for (const job of [...jobs].sort(compareJobs)) {
    let best: MatchableOffer | undefined
    for (const offer of offers) {
      if (taken.has(offer.id) || mismatchReason(job, offer, solver) !== null) continue
      if (best === undefined || compareOffers(offer, best) < 0) best = offer
    }
    if (best !== undefined) { taken.add(best.id); matched++ }
  }
  return { perSecond: matched / ((performance.now() - t0) / 1000), matched }
}

export async function run (): Promise<void> {
  for (let i = 0; i < 3; i++) measure(5000) // warm up the JIT
  const results: Record<string, ReturnType<typeof measure>> = {}
  for (const [label, n] of [['1k', 1000], ['10k', 10_000], ['100k', 100_000]] as const) {
    // the median of three runs, so one run disturbed by other work on the machine does not decide
    const m = [measure(n), measure(n), measure(n)].sort((a, b) => a.ms - b.ms)[1]!
    results[label] = m
    const baseline = label === '1k' ? measureScan(n) : undefined
    if (baseline !== undefined && baseline.matched !== m.matched) throw new Error('the order book and the full scan disagree')
    report({
      bench: 'matching',
      metric: `matches_per_s_${label}`,
      ...(baseline !== undefined ? { baseline: round(baseline.perSecond), ratio: round(m.perSecond / baseline.perSecond) } : {}),
      value: round(m.perSecond),
      unit: 'matches/s',
      ...(label === '10k' ? { goal: '>=50000' } : {}),
      runs: 3,
      jobs: n,
      offers: n,
      matched: m.matched,
      ms: round(m.ms),
      build_ms: round(m.buildMs)
    })
  }
  // n log n would grow the time 10x-13x per 10x of n; n*m would grow it 100x
  const growth = results['100k']!.ms / results['10k']!.ms
  report({ bench: 'matching', metric: 'time_growth_10k_to_100k', value: round(growth), unit: 'x', goal: '<=20 (n log n ~ 12.5, n*m = 100)' })
}
