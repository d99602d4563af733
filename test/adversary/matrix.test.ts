import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startArena, type Arena } from '../../adversary/arena.ts'
import { playOne } from '../../adversary/matrix.ts'
import { STRATEGIES } from '../../adversary/strategies.ts'

let arena: Arena

beforeAll(async () => { arena = await startArena() }, 120_000)
afterAll(async () => { await arena?.stop() })

describe('the adversarial matrix: no strategy beats an honest party, on the real contract', () => {
  test.each(STRATEGIES.map(s => [s.name, s] as const))('%s', async (_, strategy) => {
    const row = await playOne(arena, strategy)
    expect(row.outcome).toBe(strategy.settles ?? strategy.owed)
    expect(row.got >= row.payout, `the honest ${row.honest} got ${row.got}, owed ${row.payout}`).toBe(true)
    expect(row.held).toBe(true)
  }, 120_000)
})
