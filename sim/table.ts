/** The run's table, as plain text: the same summary always prints the same bytes. */
import type { Summary } from './summary.ts'

export function formatTable (s: Summary): string {
  const lines: string[] = []
  const row = (k: string, v: string): void => { lines.push(`  ${k.padEnd(26)} ${v}`) }
  lines.push(`scenario ${s.scenario}  seed ${s.seed}  nodes ${s.nodes}  jobs ${s.jobs}`)
  row('completion rate', `${pct(s.completionRate)} (${s.completed}/${s.jobs})`)
  row('job latency median', seconds(s.latencyMedianMs))
  row('job latency p99', seconds(s.latencyP99Ms))
  row('jobs in a final state', `${s.finalJobs}/${s.jobs}`)
  row('deals left unsettled', String(s.unsettledDeals))
  row('cheats caught', `${s.cheatsCaught}/${s.cheats} (undetected ${s.cheatsUndetected})`)
  row('honest results rejected', String(s.honestRejected))
  row('funds conserved', s.fundsConserved ? 'yes' : 'no')
  row('outcomes', Object.entries(s.outcomes).map(([k, v]) => `${k} ${v}`).join(', '))
  row('virtual time', seconds(s.virtualEndMs))
  row('machine steps', String(s.steps))
  lines.push('')
  // nodes differ in how many deals they took: per deal is how a strategy compares with honest play
  lines.push(`  ${'participant'.padEnd(38)} ${'nodes'.padStart(6)} ${'deals'.padStart(7)} ${'profit/node'.padStart(14)} ${'profit/deal'.padStart(12)} ${'vs honest/deal'.padStart(14)} ${'profit total'.padStart(16)}`)
  for (const p of s.profits) {
    const perDeal = p.deals === 0 ? '-' : (p.total / BigInt(p.deals)).toString()
    const gain = p.gainPerDeal === null ? '-' : signed(p.gainPerDeal)
    lines.push(`  ${p.label.padEnd(38)} ${String(p.nodes).padStart(6)} ${String(p.deals).padStart(7)} ${p.perNode.toString().padStart(14)} ${perDeal.padStart(12)} ${gain.padStart(14)} ${p.total.toString().padStart(16)}`)
  }
  const strategists = s.profits.filter(p => p.gainPerDeal !== null)
  if (strategists.length > 0) {
    const losing = strategists.filter(p => (p.gainPerDeal as bigint) < 0n).length
    lines.push(`  strategies that lose against honest play: ${losing} of ${strategists.length}`)
  }
  const rejected = Object.entries(s.rejections)
  if (rejected.length > 0) {
    lines.push('')
    lines.push('  inputs refused or dropped:')
    for (const [k, v] of rejected) lines.push(`    ${k.padEnd(52)} ${v}`)
  }
  return lines.join('\n') + '\n'
}

function signed (x: bigint): string {
  return x > 0n ? `+${x}` : x.toString()
}

function pct (x: number): string {
  return `${(x * 100).toFixed(1)}%`
}

function seconds (ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`
}
