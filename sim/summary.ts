/** What a finished run shows: completion, latency, profit per kind of participant, cheats, funds. */
import type { World } from './world.ts'

export interface ProfitRow {
  label: string
  nodes: number
  /** deals this group took part in as provider or as job creator */
  deals: number
  total: bigint
  perNode: bigint
  /**
   * a strategy's profit: what the group made a deal, less what the honest nodes of its role made a
   * deal in the same run (null for honest groups, and where either made no deals)
   */
  gainPerDeal: bigint | null
}

export interface Summary {
  scenario: string
  seed: string
  nodes: number
  jobs: number
  completed: number
  completionRate: number
  latencyMedianMs: number | null
  latencyP99Ms: number | null
  finalJobs: number
  unsettledDeals: number
  outcomes: Record<string, number>
  cheats: number
  cheatsCaught: number
  cheatsUndetected: number
  honestRejected: number
  fundsConserved: boolean
  profits: ProfitRow[]
  steps: number
  virtualEndMs: number
  rejections: Record<string, number>
}

export function summarize (world: World): Summary {
  const jobs = world.jobList
  const completedJobs = jobs.filter(j => j.creatorOutcome === 'Accepted' || j.creatorOutcome === 'MediationAccepted')
  const latencies = completedJobs.map(j => (j.doneAt as number) - j.createdAt).sort((a, b) => a - b)
  const outcomes: Record<string, number> = {}
  for (const j of jobs) {
    const key = j.outcome ?? j.creatorOutcome ?? 'pending'
    outcomes[key] = (outcomes[key] ?? 0) + 1
  }
  const unsettled = world.chain.unsettled()
  const unsettledIds = new Set(unsettled.map(d => d.deal.jobOfferId))
  const finalJobs = jobs.filter(j => j.doneAt !== null && !unsettledIds.has(j.jobOfferId)).length
  const cheated = jobs.filter(j => j.cheated)
  const deposit = world.config.economics.deposit
  const groups = new Map<string, ProfitRow>()
  const dealsOf = new Map<number, number>()
  for (const j of jobs) {
    if (j.provider === null || j.dealId === null) continue
    dealsOf.set(j.provider, (dealsOf.get(j.provider) ?? 0) + 1)
    dealsOf.set(j.creator, (dealsOf.get(j.creator) ?? 0) + 1)
  }
  for (const n of world.nodes) {
    const row = groups.get(n.label) ?? { label: n.label, nodes: 0, deals: 0, total: 0n, perNode: 0n, gainPerDeal: null }
    row.nodes++
    row.deals += dealsOf.get(n.index) ?? 0
    row.total += (world.chain.balances.get(n.identity.address) ?? 0n) - deposit - n.cost
    groups.set(n.label, row)
  }
  const profits = withGains([...groups.values()].map(r => ({ ...r, perNode: r.total / BigInt(r.nodes) })))
    .sort((a, b) => a.label < b.label ? -1 : 1)
  return {
    scenario: world.config.scenario,
    seed: world.config.seed,
    nodes: world.nodes.length,
    jobs: jobs.length,
    completed: completedJobs.length,
    completionRate: jobs.length === 0 ? 0 : completedJobs.length / jobs.length,
    latencyMedianMs: quantile(latencies, 0.5),
    latencyP99Ms: quantile(latencies, 0.99),
    finalJobs,
    unsettledDeals: unsettled.length,
    outcomes: sortedRecord(outcomes),
    cheats: cheated.length,
    cheatsCaught: cheated.filter(j => j.outcome === 'MediationRejected').length,
    cheatsUndetected: cheated.filter(j => j.outcome === 'Accepted' || j.outcome === 'MediationAccepted' || j.outcome === 'TimeoutJudge').length,
    honestRejected: jobs.filter(j => !j.cheated && j.outcome === 'MediationRejected').length,
    fundsConserved: world.chain.fundsConserved(),
    profits,
    steps: world.steps,
    virtualEndMs: world.now - world.config.timing.t0,
    rejections: sortedRecord(Object.fromEntries(world.rejections))
  }
}

/**
 * A strategist's group is labelled by its role and then its strategy, `resource-provider (equivocating)`:
 * its gain is measured against the group labelled by the role alone. Profit a deal, not a node, because
 * a strategy changes how many deals a node wins.
 */
function withGains (rows: ProfitRow[]): ProfitRow[] {
  const perDeal = (r: ProfitRow | undefined): bigint | null => r === undefined || r.deals === 0 ? null : r.total / BigInt(r.deals)
  const byLabel = new Map(rows.map(r => [r.label, r]))
  return rows.map(r => {
    const role = r.label.split(' (')[0] as string
    const own = perDeal(r)
    const honest = role === r.label ? null : perDeal(byLabel.get(role))
    return { ...r, gainPerDeal: own === null || honest === null ? null : own - honest }
  })
}

/** Nearest-rank quantile of sorted values. */
export function quantile (sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)))
  return sorted[rank - 1] as number
}

function sortedRecord (r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
}
