import { describe, expect, test } from 'vitest'
import { defaultEconomics } from '../../../sim/config.ts'
import { thresholds } from '../../../sim/economics.ts'
import { expectInvariants, perDeal, row, run } from './helpers.ts'

describe('invariants on small runs with real signatures', () => {
  test('honest baseline: every job completes and settles Accepted, funds are conserved, providers and solvers earn', () => {
    const s = run('honest')
    expectInvariants(s, expect)
    expect(s.completed).toBe(s.jobs)
    expect(s.outcomes).toEqual({ Accepted: s.jobs })
    expect(s.cheats).toBe(0)
    expect(row(s, 'resource-provider').total).toBeGreaterThan(0n)
    expect(row(s, 'solver').total).toBeGreaterThan(0n)
    expect(s.latencyMedianMs).toBeGreaterThan(0)
  })

  const k = 2
  const t = thresholds({ ...defaultEconomics(), collateralMultiple: k })

  test(`below the computed threshold (p = 0.02 < p* = ${t.pStar.toFixed(3)}) cheating pays more than honest work`, () => {
    const s = run('cheating', { nodes: 20, jobs: 60, p: 0.02, q: 0.4, k })
    expectInvariants(s, expect)
    const cheat = row(s, 'resource-provider (cheating)')
    expect(cheat.deals).toBeGreaterThan(10)
    expect(perDeal(cheat)).toBeGreaterThan(perDeal(row(s, 'resource-provider')))
  })

  test(`above the computed threshold (p = 0.6 > p* and > ${t.pBreakEven.toFixed(3)}) cheaters lose money, and are caught`, () => {
    const s = run('cheating', { nodes: 20, jobs: 60, p: 0.6, q: 0.4, k })
    expectInvariants(s, expect)
    const cheat = row(s, 'resource-provider (cheating)')
    expect(cheat.deals).toBeGreaterThan(10)
    expect(perDeal(cheat)).toBeLessThan(perDeal(row(s, 'resource-provider')))
    expect(cheat.total).toBeLessThan(0n)
    expect(s.cheatsCaught).toBeGreaterThan(0)
    expect(s.outcomes.MediationRejected).toBe(s.cheatsCaught)
    expect(s.honestRejected).toBe(0)
  })

  test('a provider colluding with the mediator its shard prefers gets made-up results through only where the chain draws that mediator to judge', () => {
    const s = run('collusion', { nodes: 20, jobs: 50, p: 1 })
    expectInvariants(s, expect)
    expect(s.cheats).toBeGreaterThan(0)
    expect(s.outcomes.MediationAccepted).toBeGreaterThan(0)
    expect(s.cheatsUndetected).toBeGreaterThan(0)
    expect(s.cheatsCaught).toBeGreaterThan(0)
    expect(s.cheatsCaught + s.cheatsUndetected).toBe(s.cheats)
  })

  test('lazy and offline providers: deadlines end every job, the lazy pay their timeout collateral', () => {
    const s = run('lazy', { nodes: 24, jobs: 50, q: 0.3 })
    expectInvariants(s, expect)
    expect(s.outcomes.TimeoutSubmit).toBeGreaterThan(0)
    expect(row(s, 'resource-provider (lazy)').total).toBeLessThan(0n)
    expect(s.completed).toBeLessThan(s.jobs)
  })

  test('job creators that challenge honest results lose the mediation and pay for it', () => {
    const s = run('challengers', { nodes: 20, jobs: 50, q: 0.5 })
    expectInvariants(s, expect)
    expect(s.outcomes.MediationAccepted).toBeGreaterThan(0)
    expect(s.honestRejected).toBe(0)
    const bad = row(s, 'job-creator (challenging)')
    const fair = row(s, 'job-creator')
    expect(bad.total).toBeLessThan(0n)
    expect(row(s, 'mediator').total).toBeGreaterThan(0n)
    expect(fair.nodes).toBeGreaterThan(0)
  })

  test.each(['churn', 'partition', 'solvers', 'lossy'])('%s: every job reaches a final state and funds are conserved', (scenario) => {
    const s = run(scenario, { nodes: 24, jobs: 40, q: 0.5, loss: scenario === 'lossy' ? 0.05 : undefined })
    expectInvariants(s, expect)
    expect(s.completed).toBeGreaterThan(0)
  })
})
