import { simulate } from '../../../sim/run.ts'
import { buildScenario, type ScenarioOptions } from '../../../sim/scenarios.ts'
import type { ProfitRow, Summary } from '../../../sim/summary.ts'

/** A small run with real ECDSA signatures unless told otherwise. */
export function run (scenario: string, o: Partial<ScenarioOptions> = {}): Summary {
  return simulate(buildScenario(scenario, { nodes: 16, jobs: 40, seed: '1', signatures: 'ecdsa', ...o })).summary
}

export function row (s: Summary, label: string): ProfitRow {
  const r = s.profits.find(p => p.label === label)
  if (r === undefined) throw new Error(`no participants labelled ${label}: ${s.profits.map(p => p.label).join(', ')}`)
  return r
}

export const perDeal = (r: ProfitRow): number => Number(r.total) / r.deals

/** The invariants every run must keep. */
export function expectInvariants (s: Summary, expect: (v: unknown) => { toBe: (x: unknown) => void }): void {
  expect(s.fundsConserved).toBe(true)
  expect(s.finalJobs).toBe(s.jobs)
  expect(s.unsettledDeals).toBe(0)
}
