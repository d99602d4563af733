import { describe, expect, test } from 'vitest'
import { simulate } from '../../../sim/run.ts'
import type { Engine } from '../../../sim/engine.ts'
import { buildScenario, SCENARIOS } from '../../../sim/scenarios.ts'
import { formatTable } from '../../../sim/table.ts'

const table = (scenario: string, seed: string, signatures: 'ecdsa' | 'fast', nodes = 40, jobs = 120): string =>
  formatTable(simulate(buildScenario(scenario, { nodes, jobs, seed, signatures, q: 0.3, loss: 0.02 })).summary)

describe('determinism', () => {
  test.each(['churn', 'cheating', 'partition'])('%s: the same scenario and seed print the same table, bit for bit', (scenario) => {
    const a = table(scenario, '42', 'fast')
    const b = table(scenario, '42', 'fast')
    expect(b).toBe(a)
    expect(table(scenario, '43', 'fast')).not.toBe(a)
  })

  test.each(Object.keys(SCENARIOS))('%s: stepping the deciders prints the table that stepping the XState machines prints', (scenario) => {
    const run = (engine: Engine): string => formatTable(simulate(buildScenario(scenario, { nodes: 40, jobs: 120, seed: '5', signatures: 'fast', q: 0.3, loss: 0.02, engine })).summary)
    expect(run('decider')).toBe(run('xstate'))
  })

  test('fast signatures change the cost, not the run: the table equals the one signed with ECDSA', () => {
    expect(table('cheating', '7', 'fast', 16, 30)).toBe(table('cheating', '7', 'ecdsa', 16, 30))
  })
})
