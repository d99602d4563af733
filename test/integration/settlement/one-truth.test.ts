/** The contract and the TypeScript settle() agree: same transfers and slashes for a table of cases. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEAL_OUTCOMES, dealStateIndex, type DealOutcome } from '../../../src/state-machines/deal-states.ts'
import { lockedBy, settle, type Evidence } from '../../../src/state-machines/settle.ts'
import type { Deal } from '../../../src/protocols/messages/schemas.ts'
import { makeDeal, sign, startFixture, TOKENS, type Fixture } from './fixture.ts'
import { reachOutcome } from './outcomes.ts'
import { slashesOf, transfersOf } from './assertions.ts'

let f: Fixture
beforeAll(async () => {
  f = await startFixture()
  await Promise.all([f.clients.jobCreator.deposit(TOKENS), f.clients.resourceProvider.deposit(TOKENS)])
}, 180_000)
afterAll(async () => { await f?.stop() })

const AMOUNTS: Array<{ name: string, terms: Partial<Deal> }> = [
  { name: 'typical', terms: {} },
  { name: 'no fees, no collateral', terms: { price: '700', solverFee: '0', mediatorFee: '0', paymentCollateral: '700', jobCreatorTimeoutCollateral: '0', resultsCollateral: '0', timeoutCollateral: '0' } },
  { name: 'collaterals exactly at their minimum', terms: { price: '1000', solverFee: '25', mediatorFee: '75', paymentCollateral: '1100', jobCreatorTimeoutCollateral: '1', resultsCollateral: '1', timeoutCollateral: '75' } },
  { name: 'large amounts', terms: { price: (10n ** 21n).toString(), solverFee: (10n ** 19n).toString(), mediatorFee: (10n ** 20n).toString(), paymentCollateral: (3n * 10n ** 21n).toString(), jobCreatorTimeoutCollateral: (10n ** 21n).toString(), resultsCollateral: (2n * 10n ** 21n).toString(), timeoutCollateral: (5n * 10n ** 20n).toString() } }
]

const cases = DEAL_OUTCOMES.flatMap(outcome => AMOUNTS.map(a => ({ outcome, ...a })))

function evidenceFor (outcome: DealOutcome, mediator: string): Evidence {
  return outcome === 'MediationAccepted' || outcome === 'MediationRejected' ? { outcome, mediator } : { outcome }
}

describe('one truth for the contract and settle()', () => {
  it.each(cases)('$outcome, $name', async ({ outcome, terms }) => {
    const deal = await makeDeal(f, terms)
    const signed = await sign(f, deal)
    const parties = [deal.jobCreator, deal.resourceProvider, f.wallets.mediator.address, deal.solver]
    const before = await Promise.all(parties.map(async p => await f.clients.outsider.balanceOf(p)))
    const receipt = await reachOutcome(f, signed, outcome)
    const expected = settle(deal, evidenceFor(outcome, f.wallets.mediator.address))
    expect(transfersOf(receipt)).toEqual(expected.transfers)
    expect(slashesOf(receipt)).toEqual(expected.slashed)
    for (const payout of receipt.events.filter(e => e.name === 'Payout')) expect(payout.args.outcome).toBe(BigInt(dealStateIndex(outcome)))
    // each deposit moved by exactly what the party was paid minus what it had locked
    const after = await Promise.all(parties.map(async p => await f.clients.outsider.balanceOf(p)))
    const locked = lockedBy(deal)
    const net = [
      expected.payouts.jobCreator - locked.jobCreator,
      expected.payouts.resourceProvider - locked.resourceProvider,
      expected.payouts.mediator,
      expected.payouts.solver
    ]
    expect(after.map((b, i) => b - (before[i] as bigint))).toEqual(net)
  })
})
