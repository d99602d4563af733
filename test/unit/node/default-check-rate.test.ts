import { describe, expect, test } from 'vitest'
import { DEFAULTS } from '../../../src/node/settings.ts'
import { defaultCheckRatePercent, NODE_DEFAULTS, nodeEconomics } from '../../../sim/deterrence.ts'
import { cheaterProfitPerDeal, honestProfitPerDeal } from '../../../sim/economics.ts'

describe('the default check rate', () => {
  test('the simulator reckons with the node\'s own defaults', () => {
    expect(NODE_DEFAULTS).toEqual({
      price: BigInt(DEFAULTS.price),
      resultsCollateral: BigInt(DEFAULTS.resultsCollateral),
      timeoutCollateral: BigInt(DEFAULTS.timeoutCollateral),
      solverFee: BigInt(DEFAULTS.solverFee),
      mediatorFee: BigInt(DEFAULTS.mediatorFee)
    })
  })

  test('is the rate the simulator prints, and at it making results up earns less than running the job', () => {
    expect(DEFAULTS.mediationChance).toBe(defaultCheckRatePercent())
    const e = nodeEconomics()
    expect(cheaterProfitPerDeal(e, DEFAULTS.mediationChance / 100)).toBeLessThan(honestProfitPerDeal(e))
  })
})
