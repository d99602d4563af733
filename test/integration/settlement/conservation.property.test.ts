/**
 * Over random sequences of deposits, deals, outcomes (one judge's, or the votes of a quorum of 2 of 3
 * mediators) and withdrawals run on the real contract, the
 * token held by the contract always equals the sum of the deposits (funds are conserved), every
 * deposit equals what a simple model predicts, and a settlement that would overdraw a deposit is
 * refused instead (no balance goes negative).
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEAL_OUTCOMES, type DealOutcome } from '../../../src/state-machines/deal-states.ts'
import { lockedBy, settle } from '../../../src/state-machines/settle.ts'
import { SettlementError } from '../../../src/settlement/index.ts'
import type { Deal } from '../../../src/protocols/messages/schemas.ts'
import { CID, common, makeDeal, OTHER_CID, sign, signAs, startFixture, type Fixture, type Party } from './fixture.ts'
import { challenge, commit, passDeadline, reachOutcome } from './outcomes.ts'

let f: Fixture
beforeAll(async () => {
  f = await startFixture() // the first run compiles the contracts
  // a mediator bound by every deal, which takes every case: a TimeoutMediate slashes its stake (the
  // fees it earned so far)
  await f.clients.mediator.registerMediator(0n)
}, 180_000)
afterAll(async () => { await f?.stop() })

const depositors = ['jobCreator', 'resourceProvider'] as const
const watched: Party[] = ['jobCreator', 'resourceProvider', 'mediator', 'solver', 'otherMediator', 'outsider']
/** the mediators of a quorum deal, 'outsider' the third */
const PANEL = ['mediator', 'otherMediator', 'outsider'] as const

const amount = (max: number): fc.Arbitrary<bigint> => fc.bigInt({ min: 0n, max: BigInt(max) })

const terms = fc.record({
  price: amount(500),
  solverFee: amount(50),
  mediatorFee: amount(50),
  paymentExtra: amount(200),
  jobCreatorTimeoutCollateral: amount(200),
  resultsCollateral: amount(300),
  timeoutExtra: amount(100)
})

const action = fc.oneof(
  fc.record({ kind: fc.constant('deposit' as const), who: fc.constantFrom(...depositors), amount: fc.bigInt({ min: 1n, max: 2500n }) }),
  fc.record({ kind: fc.constant('deal' as const), terms, outcome: fc.constantFrom<DealOutcome>(...DEAL_OUTCOMES) }),
  // each of the three mediators' verdict, in turn, until two agree: true, the provider at fault
  fc.record({ kind: fc.constant('panel' as const), terms, votes: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('withdraw' as const), who: fc.constantFrom(...depositors, 'mediator' as const, 'solver' as const), fraction: fc.integer({ min: 1, max: 100 }) })
)

type Terms = typeof terms extends fc.Arbitrary<infer T> ? T : never

function dealTerms (t: Terms): Partial<Deal> {
  return {
    price: String(t.price),
    solverFee: String(t.solverFee),
    mediatorFee: String(t.mediatorFee),
    paymentCollateral: String(t.price + t.solverFee + t.mediatorFee + t.paymentExtra),
    jobCreatorTimeoutCollateral: String(t.jobCreatorTimeoutCollateral),
    resultsCollateral: String(t.resultsCollateral),
    timeoutCollateral: String(t.mediatorFee + t.timeoutExtra)
  }
}

/**
 * A deal with a quorum of 2 of 3 mediators, committed, challenged and voted on, each mediator taking
 * the case before its verdict, until two verdicts agree; the model moves as settle() says, the
 * outvoted mediator paying from its deposit.
 */
async function quorumDeal (t: Terms, votes: boolean[], model: Map<Party, bigint>): Promise<void> {
  const deal = await makeDeal(f, { ...dealTerms(t), mediators: PANEL.map(m => f.wallets[m].address), quorum: 2 })
  const signed = await sign(f, deal)
  const locked = lockedBy(deal)
  const affordable = (model.get('jobCreator') ?? 0n) >= locked.jobCreator && (model.get('resourceProvider') ?? 0n) >= locked.resourceProvider
  await commit(f, signed)
  const challenged = await challenge(f, signed).then(() => 'challenged', (e: unknown) => e)
  if (!affordable) {
    expect((challenged as SettlementError).code).toBe('INSUFFICIENT_DEPOSIT')
    return
  }
  expect(challenged).toBe('challenged')
  const id = f.clients.outsider.dealId(deal)
  const voted: Array<[Party, boolean]> = []
  for (const [i, m] of PANEL.entries()) {
    const fault = votes[i] as boolean
    await f.clients[m].takeCase(signed)
    const verdict = { ...common(f, m), dealId: id, resultsCid: CID, mediatorCid: fault ? OTHER_CID : CID, providerAtFault: fault }
    // the stakes the outvoted pay from are the deposits before the deciding vote
    const stakes = new Map<Party, bigint>(PANEL.map(p => [p, model.get(p) ?? 0n]))
    await f.clients[m].settleVerdict(signed, verdict, await signAs(f, m, 'MediationVerdict', verdict))
    voted.push([m, fault])
    const agreeing = voted.filter(([, v]) => v === fault)
    if (agreeing.length < 2) continue
    const outcome = fault ? 'MediationRejected' : 'MediationAccepted'
    const minority = voted.filter(([, v]) => v !== fault).map(([p]) => p)
    const s = settle(deal, { outcome, panel: { majority: agreeing.map(([p]) => f.wallets[p].address), minority: minority.map(p => ({ mediator: f.wallets[p].address, stake: stakes.get(p)! })) } })
    model.set('jobCreator', (model.get('jobCreator') ?? 0n) - locked.jobCreator + s.payouts.jobCreator)
    model.set('resourceProvider', (model.get('resourceProvider') ?? 0n) - locked.resourceProvider + s.payouts.resourceProvider)
    model.set('solver', (model.get('solver') ?? 0n) + s.payouts.solver)
    for (const transfer of s.transfers.filter(x => x.role === 'mediator')) {
      const p = PANEL.find(m => f.wallets[m].address === transfer.to)!
      model.set(p, (model.get(p) ?? 0n) + transfer.amount)
    }
    const owed = BigInt(deal.price) + BigInt(deal.resultsCollateral)
    for (const p of minority) model.set(p, stakes.get(p)! - (stakes.get(p)! < owed ? stakes.get(p)! : owed))
    expect(await f.clients.outsider.dealRecord(id)).toMatchObject({ state: 'Settled', outcome })
    return
  }
  throw new Error('three verdicts, and no two agree')
}

describe('conservation of funds', () => {
  it('holds over random sequences of deposits, deals, outcomes and withdrawals', async () => {
    const settlementAddress = f.deployment.settlement
    const reader = f.clients.outsider
    const balancesNow = async (): Promise<bigint[]> => await Promise.all(watched.map(async p => await reader.balanceOf(f.wallets[p].address)))

    await fc.assert(fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), async actions => {
      // The model starts from the chain as earlier runs left it.
      const model = new Map<Party, bigint>()
      ;(await balancesNow()).forEach((b, i) => model.set(watched[i] as Party, b))
      const tokensOutside = await Promise.all(watched.map(async p => await reader.tokenBalanceOf(f.wallets[p].address)))
      const totalBefore = tokensOutside.reduce((a, b) => a + b, 0n) + await reader.tokenBalanceOf(settlementAddress)

      for (const a of actions) {
        if (a.kind === 'deposit') {
          await f.clients[a.who].deposit(a.amount)
          model.set(a.who, (model.get(a.who) ?? 0n) + a.amount)
        } else if (a.kind === 'withdraw') {
          const held = model.get(a.who) ?? 0n
          const want = held * BigInt(a.fraction) / 100n
          if (want === 0n) continue
          await f.clients[a.who].requestWithdrawal(want)
          const request = await f.clients[a.who].withdrawalOf()
          await passDeadline(f, (request?.unlockAt ?? 0) * 1000)
          await f.clients[a.who].withdraw()
          model.set(a.who, held - want)
        } else if (a.kind === 'panel') {
          await quorumDeal(a.terms, a.votes, model)
        } else {
          const deal = await makeDeal(f, dealTerms(a.terms))
          const locked = lockedBy(deal)
          const affordable = (model.get('jobCreator') ?? 0n) >= locked.jobCreator && (model.get('resourceProvider') ?? 0n) >= locked.resourceProvider
          const outcome = await reachOutcome(f, await sign(f, deal), a.outcome, true).then(() => 'settled', (e: unknown) => e)
          if (!affordable) {
            expect(outcome).toBeInstanceOf(SettlementError)
            expect((outcome as SettlementError).code).toBe('INSUFFICIENT_DEPOSIT')
            continue
          }
          expect(outcome).toBe('settled')
          const s = settle(deal, a.outcome === 'MediationAccepted' || a.outcome === 'MediationRejected'
            ? { outcome: a.outcome, mediator: f.wallets.mediator.address }
            : a.outcome === 'TimeoutMediate' ? { outcome: a.outcome, boundStake: model.get('mediator') ?? 0n } : { outcome: a.outcome })
          const slashedFromMediator = s.slashed.filter(x => x.from === 'mediator').reduce((sum, x) => sum + x.amount, 0n)
          model.set('jobCreator', (model.get('jobCreator') ?? 0n) - locked.jobCreator + s.payouts.jobCreator)
          model.set('resourceProvider', (model.get('resourceProvider') ?? 0n) - locked.resourceProvider + s.payouts.resourceProvider)
          model.set('mediator', (model.get('mediator') ?? 0n) + s.payouts.mediator - slashedFromMediator)
          model.set('solver', (model.get('solver') ?? 0n) + s.payouts.solver)
        }
        const onChain = await balancesNow()
        expect(onChain).toEqual(watched.map(p => model.get(p)))
        for (const b of onChain) expect(b).toBeGreaterThanOrEqual(0n)
        // everything the contract holds is someone's deposit
        expect(await reader.tokenBalanceOf(settlementAddress)).toBe(onChain.reduce((x, y) => x + y, 0n))
      }
      const tokensAfter = await Promise.all(watched.map(async p => await reader.tokenBalanceOf(f.wallets[p].address)))
      expect(tokensAfter.reduce((a, b) => a + b, 0n) + await reader.tokenBalanceOf(settlementAddress)).toBe(totalBefore)
    }), { numRuns: 12 })
  })
})
