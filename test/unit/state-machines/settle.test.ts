import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { Deal } from '../../../src/protocols/messages/schemas.ts'
import { DEAL_OUTCOMES, DEAL_STATES } from '../../../src/state-machines/deal-states.ts'
import { lockedBy, settle, SettleError, type Evidence } from '../../../src/state-machines/settle.ts'
import { parties, scenario } from './fixtures.ts'

const { deal } = scenario()
// price 800, solverFee 5, mediatorFee 50, payment 2000, creator timeout 300, results 1500, provider timeout 400
const evidence = (outcome: typeof DEAL_OUTCOMES[number]): Evidence =>
  (outcome === 'MediationAccepted' || outcome === 'MediationRejected' ? { outcome, mediator: parties.mediator.address } : { outcome }) as Evidence

describe('settle: the outcome table of DESIGN §6', () => {
  test.each([
    ['Accepted', { jobCreator: 2000n - 800n - 5n + 300n, resourceProvider: 800n + 1500n + 400n, mediator: 0n, solver: 5n }, []],
    ['MediationAccepted', { jobCreator: 2000n - 800n - 5n - 50n + 300n, resourceProvider: 800n + 1500n + 400n, mediator: 50n, solver: 5n }, []],
    ['MediationRejected', { jobCreator: 2000n + 300n + 1500n, resourceProvider: 400n - 50n, mediator: 50n, solver: 0n },
      [{ from: 'resourceProvider', to: 'jobCreator', amount: 1500n }]],
    ['TimeoutSubmit', { jobCreator: 2000n + 300n + 400n, resourceProvider: 1500n, mediator: 0n, solver: 0n },
      [{ from: 'resourceProvider', to: 'jobCreator', amount: 400n }]],
    ['TimeoutJudge', { jobCreator: 2000n - 800n - 5n, resourceProvider: 800n + 300n + 1500n + 400n, mediator: 0n, solver: 5n },
      [{ from: 'jobCreator', to: 'resourceProvider', amount: 300n }]],
    ['TimeoutMediate', { jobCreator: 2000n + 300n, resourceProvider: 1500n + 400n, mediator: 0n, solver: 0n }, []]
  ] as const)('%s pays as the table says', (outcome, payouts, slashed) => {
    const result = settle(deal, evidence(outcome))
    expect(result.payouts).toEqual(payouts)
    expect(result.slashed).toEqual(slashed)
    expect(result.transfers.every(t => t.amount > 0n)).toBe(true)
  })

  test('transfers go to the deal\'s parties and the mediator that gave the verdict', () => {
    const result = settle(deal, evidence('MediationAccepted'))
    expect(result.transfers.map(t => [t.role, t.to])).toEqual([
      ['jobCreator', parties.jobCreator.address],
      ['resourceProvider', parties.resourceProvider.address],
      ['mediator', parties.mediator.address],
      ['solver', parties.solver.address]
    ])
  })

  test('a mediator not named in the deal is refused', () => {
    expect(() => settle(deal, { outcome: 'MediationRejected', mediator: parties.stranger.address })).toThrow(SettleError)
  })

  test('a deal the provider\'s equivocation settled has no mediator: the fee no one earned goes to the job creator', () => {
    const s = settle(deal, { outcome: 'MediationRejected', mediator: null })
    expect(s.payouts).toEqual({ jobCreator: 2000n + 300n + 1500n + 50n, resourceProvider: 400n - 50n, mediator: 0n, solver: 0n })
    expect(s.slashed).toEqual([{ from: 'resourceProvider', to: 'jobCreator', amount: 1500n }])
    expect(s.transfers.reduce((sum, t) => sum + t.amount, 0n)).toBe(s.locked)
  })

  test('every outcome is a deal state; the list is ordered as the contract\'s enum', () => {
    for (const o of DEAL_OUTCOMES) expect(DEAL_STATES).toContain(o)
    expect(DEAL_STATES[0]).toBe('JobOffered')
    expect(DEAL_STATES.indexOf('Settled')).toBe(8)
  })
})

const amount = fc.bigInt({ min: 0n, max: 10n ** 30n })

const dealArb = fc.record({ price: amount, solverFee: amount, mediatorFee: amount, extraPayment: amount, creatorTimeout: amount, results: amount, extraTimeout: amount })
  .map(a => ({
    ...deal,
    price: a.price.toString(),
    solverFee: a.solverFee.toString(),
    mediatorFee: a.mediatorFee.toString(),
    paymentCollateral: (a.price + a.solverFee + a.mediatorFee + a.extraPayment).toString(),
    jobCreatorTimeoutCollateral: a.creatorTimeout.toString(),
    resultsCollateral: a.results.toString(),
    timeoutCollateral: (a.mediatorFee + a.extraTimeout).toString()
  }) as Deal)

describe('settle: properties', () => {
  test('every outcome pays out exactly what was locked, and never a negative amount', () => {
    fc.assert(fc.property(dealArb, fc.constantFrom(...DEAL_OUTCOMES), (d, outcome) => {
      const result = settle(d, evidence(outcome))
      const locked = lockedBy(d)
      const paid = Object.values(result.payouts).reduce((a, b) => a + b, 0n)
      expect(paid).toBe(locked.jobCreator + locked.resourceProvider)
      expect(result.locked).toBe(paid)
      for (const v of Object.values(result.payouts)) expect(v >= 0n).toBe(true)
    }), { numRuns: 500 })
  })

  test('the loser of a mediation pays the mediator; an honest party never ends below what it locked', () => {
    fc.assert(fc.property(dealArb, d => {
      const locked = lockedBy(d)
      expect(settle(d, evidence('MediationRejected')).payouts.jobCreator >= locked.jobCreator).toBe(true)
      expect(settle(d, evidence('MediationAccepted')).payouts.resourceProvider >= locked.resourceProvider).toBe(true)
      expect(settle(d, evidence('TimeoutMediate')).payouts.jobCreator).toBe(locked.jobCreator)
    }), { numRuns: 200 })
  })

  test('an undercollateralised deal is refused', () => {
    expect(() => settle({ ...deal, paymentCollateral: '1' }, { outcome: 'Accepted' })).toThrow(/UNDERCOLLATERALISED/)
  })
})
