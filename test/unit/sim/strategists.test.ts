import { describe, expect, test } from 'vitest'
import { GAS, SimChain, type ChainTx } from '../../../sim/chain.ts'
import { defaultEconomics } from '../../../sim/config.ts'
import { honestProfitPerDeal } from '../../../sim/economics.ts'
import type { Deal, ResultsChallenged, ResultsSubmitted } from '../../../src/protocols/messages/schemas.ts'
import type { ProfitRow } from '../../../sim/summary.ts'
import { formatTable } from '../../../sim/table.ts'
import { expectInvariants, perDeal, row, run } from './helpers.ts'

const T = 1_800_000_000_000
const CREATOR = '0x' + '11'.repeat(20)
const PROVIDER = '0x' + '22'.repeat(20)
const SOLVER = '0x' + '33'.repeat(20)
const MEDIATOR = '0x' + '44'.repeat(20)
const DEAL_ID = '0x' + 'de'.repeat(32)
const HONEST = 'bafkhonest'
const MADE_UP = 'bafxmadeup'

const deal: Deal = {
  jobCreator: CREATOR,
  resourceProvider: PROVIDER,
  solver: SOLVER,
  nonce: '1',
  expiry: T,
  jobOfferId: '0x' + '01'.repeat(32),
  resourceOfferId: '0x' + '02'.repeat(32),
  matchProposalId: '0x' + '03'.repeat(32),
  specHash: '0x' + '04'.repeat(32),
  mediators: [MEDIATOR],
  quorum: 1,
  price: '1000000',
  solverFee: '10000',
  mediatorFee: '600000',
  paymentCollateral: '1610000',
  jobCreatorTimeoutCollateral: '500000',
  resultsCollateral: '2000000',
  timeoutCollateral: '1000000',
  agreeDeadline: T,
  submitDeadline: T + 300_000,
  judgeDeadline: T + 420_000,
  mediateDeadline: T + 720_000
}

const challengeOf = (resultsCid: string, author = CREATOR): ResultsChallenged =>
  ({ author, nonce: '1', expiry: deal.mediateDeadline, dealId: DEAL_ID, resultsCid })
const resultsOf = (resultsCid: string): ResultsSubmitted =>
  ({ author: PROVIDER, nonce: '1', expiry: deal.mediateDeadline, dealId: DEAL_ID, resultsCid, exitCode: 0, cpuMs: 1, durationMs: 1 })
const challengeTx = (by: string, challenge: ResultsChallenged | null, results: ResultsSubmitted | null): ChainTx =>
  ({ kind: 'challenge', dealId: DEAL_ID, by, challenge, results })

function agreed (): SimChain {
  const chain = new SimChain(2_000, [CREATOR, PROVIDER, SOLVER, MEDIATOR], 10n ** 15n)
  chain.agree(DEAL_ID, deal, T)
  return chain
}

describe('the simulated chain against strategic parties', () => {
  test('a quorum deal settles on the k-th matching verdict: the fee split, the outvoted mediator paying from its stake, funds conserved', () => {
    const OTHER = '0x' + '55'.repeat(20)
    const THIRD = '0x' + '66'.repeat(20)
    const chain = new SimChain(2_000, [CREATOR, PROVIDER, SOLVER, MEDIATOR, OTHER, THIRD], 10n ** 15n)
    chain.agree(DEAL_ID, { ...deal, mediators: [MEDIATOR, OTHER, THIRD], quorum: 2 }, T)
    chain.apply({ kind: 'commitResults', dealId: DEAL_ID, resultsCid: MADE_UP, by: PROVIDER }, T + 10_000)
    expect(chain.apply(challengeTx(CREATOR, challengeOf(MADE_UP), null), T + 40_000)).toEqual({ ok: true })
    expect(chain.record(DEAL_ID)).toEqual({ state: 'Mediating', caseTaken: false })
    const verdict = (mediator: string, outcome: 'MediationAccepted' | 'MediationRejected', at: number): ReturnType<SimChain['apply']> =>
      chain.apply({ kind: 'settle', dealId: DEAL_ID, outcome, by: mediator, mediator }, at)
    expect(chain.apply({ kind: 'takeCase', dealId: DEAL_ID, by: SOLVER }, T + 50_000)).toEqual({ ok: false, reason: 'NOT_THE_MEDIATOR' })
    expect(chain.apply({ kind: 'takeCase', dealId: DEAL_ID, by: THIRD }, T + 50_000)).toEqual({ ok: true })
    // the provider's partner votes first, for the made-up results
    expect(verdict(THIRD, 'MediationAccepted', T + 60_000)).toEqual({ ok: true })
    expect(verdict(THIRD, 'MediationRejected', T + 61_000)).toEqual({ ok: false, reason: 'ALREADY_VOTED' })
    expect(verdict(MEDIATOR, 'MediationRejected', T + 62_000)).toEqual({ ok: true })
    const settled = verdict(OTHER, 'MediationRejected', T + 64_000)
    if (!settled.ok || settled.settlement === undefined) throw new Error(`expected a settlement, got ${JSON.stringify(settled)}`)
    expect(settled.settlement.transfers.filter(t => t.role === 'mediator')).toEqual([
      { role: 'mediator', to: MEDIATOR, amount: 300_000n }, { role: 'mediator', to: OTHER, amount: 300_000n }
    ])
    expect(settled.settlement.slashed).toContainEqual({ from: 'mediator', to: 'jobCreator', amount: 3_000_000n })
    expect(chain.balances.get(THIRD)).toBe(10n ** 15n - 3_000_000n)
    expect(chain.fundsConserved()).toBe(true)
  })

  test('a challenge of a CID the provider signed beside the one it committed settles at once as MediationRejected, the fee going to the creator', () => {
    const chain = agreed()
    expect(chain.apply({ kind: 'commitResults', dealId: DEAL_ID, resultsCid: HONEST, by: PROVIDER }, T + 10_000)).toEqual({ ok: true })
    const r = chain.apply(challengeTx(CREATOR, challengeOf(MADE_UP), resultsOf(MADE_UP)), T + 40_000)
    if (!r.ok || r.settlement === undefined) throw new Error(`expected a settlement, got ${JSON.stringify(r)}`)
    expect(r.settlement.outcome).toBe('MediationRejected')
    expect(r.settlement.payouts.mediator).toBe(0n)
    expect(r.settlement.payouts.jobCreator).toBe(1_610_000n + 500_000n + 2_000_000n + 600_000n)
    expect(chain.record(DEAL_ID)).toEqual({ state: 'Settled', outcome: 'MediationRejected' })
    expect(chain.fundsConserved()).toBe(true)
  })

  test('an acceptance settles only the committed CID: one of other results is refused, and the creator\'s challenge with them settles against the provider', () => {
    const chain = agreed()
    chain.apply({ kind: 'commitResults', dealId: DEAL_ID, resultsCid: HONEST, by: PROVIDER }, T + 10_000)
    expect(chain.apply({ kind: 'settle', dealId: DEAL_ID, outcome: 'Accepted', by: PROVIDER, acceptedCid: MADE_UP }, T + 20_000)).toEqual({ ok: false, reason: 'RESULTS_MISMATCH' })
    expect(chain.apply(challengeTx(CREATOR, challengeOf(MADE_UP), resultsOf(MADE_UP)), T + 40_000)).toMatchObject({ ok: true, settlement: { outcome: 'MediationRejected' } })
    const honest = agreed()
    honest.apply({ kind: 'commitResults', dealId: DEAL_ID, resultsCid: HONEST, by: PROVIDER }, T + 10_000)
    expect(honest.apply({ kind: 'settle', dealId: DEAL_ID, outcome: 'Accepted', by: CREATOR, acceptedCid: HONEST }, T + 20_000)).toMatchObject({ ok: true })
  })

  test('a challenge of the committed CID, or of results without the provider\'s signature on them, is no proof of equivocation', () => {
    const chain = agreed()
    chain.apply({ kind: 'commitResults', dealId: DEAL_ID, resultsCid: HONEST, by: PROVIDER }, T + 10_000)
    expect(chain.apply(challengeTx(CREATOR, challengeOf(MADE_UP), null), T + 40_000)).toEqual({ ok: false, reason: 'RESULTS_MISMATCH' })
    expect(chain.apply(challengeTx(CREATOR, challengeOf(HONEST), null), T + 40_000)).toEqual({ ok: true })
    expect(chain.record(DEAL_ID)).toEqual({ state: 'Mediating', mediator: MEDIATOR, caseTaken: false })
  })

  test('anyone may post the creator\'s signed challenge: the provider posts it, and the creator\'s TimeoutSubmit and a later commitment fail', () => {
    const chain = agreed()
    expect(chain.apply(challengeTx(PROVIDER, challengeOf(HONEST, PROVIDER), resultsOf(HONEST)), T + 40_000)).toEqual({ ok: false, reason: 'NOT_THE_CREATORS_CHALLENGE' })
    expect(chain.apply(challengeTx(PROVIDER, challengeOf(HONEST), resultsOf(HONEST)), T + 40_000)).toEqual({ ok: true })
    expect(chain.apply({ kind: 'commitResults', dealId: DEAL_ID, resultsCid: HONEST, by: PROVIDER }, T + 240_000)).toEqual({ ok: false, reason: 'ALREADY_CHALLENGED' })
    expect(chain.apply({ kind: 'claim', dealId: DEAL_ID, outcome: 'TimeoutSubmit', by: CREATOR }, deal.submitDeadline + 2_000).ok).toBe(false)
    expect(chain.record(DEAL_ID)).toEqual({ state: 'Mediating', mediator: MEDIATOR, caseTaken: false })
  })
})

describe('strategists lose against the honest machines', () => {
  test('the profit table measures each strategy against honest play of its role, a deal at a time, and says how many lose', () => {
    const s = run('lazy', { nodes: 300, jobs: 400 })
    expect(row(s, 'resource-provider').gainPerDeal).toBeNull()
    const lazy = row(s, 'resource-provider (lazy)')
    expect(lazy.gainPerDeal).toBe(lazy.total / BigInt(lazy.deals) - row(s, 'resource-provider').total / BigInt(row(s, 'resource-provider').deals))
    // every deal counts once for its provider and once for its job creator
    const providerDeals = s.profits.filter(p => p.label.startsWith('resource-provider')).reduce((n, p) => n + p.deals, 0)
    expect(providerDeals).toBeGreaterThan(0)
    expect(row(s, 'job-creator').deals).toBe(providerDeals)
    const table = formatTable(s)
    expect(table).toMatch(/resource-provider \(lazy\)\s+\d+\s+\d+\s+-?\d+\s+-?\d+\s+-\d+\s/)
    expect(table).toContain('strategies that lose against honest play: 2 of 2')
  })

  test('wire challengers: the provider takes the challenge to the mediator and the chain, no TimeoutSubmit claim succeeds, and the challengers pay for every mediation', () => {
    const s = run('wire-challengers', { nodes: 300, jobs: 400 })
    expectInvariants(s, expect)
    expect(s.outcomes.MediationAccepted).toBeGreaterThan(10)
    expect(s.outcomes.TimeoutSubmit).toBeUndefined()
    expect(s.outcomes.TimeoutMediate).toBeUndefined()
    const bad = row(s, 'job-creator (wire-challenging)')
    expect(bad.perNode).toBeLessThan(0n)
    expect(bad.perNode).toBeLessThan(row(s, 'job-creator').perNode)
    expect(bad.gainPerDeal).toBe(BigInt(Math.trunc(perDeal(bad))) - BigInt(Math.trunc(perDeal(row(s, 'job-creator')))))
    expect(bad.gainPerDeal).toBeLessThan(0n)
  })

  test('accept-then-claim: creators settle their acceptances themselves before the judge deadline, no TimeoutJudge claim succeeds, and the strategy pays for its commitments and refused claims', () => {
    const s = run('accept-then-claim', { nodes: 300, jobs: 400 })
    expectInvariants(s, expect)
    expect(s.outcomes.TimeoutJudge).toBeUndefined()
    const bad = row(s, 'resource-provider (accept-then-claim)')
    expect(bad.deals).toBeGreaterThan(20)
    // each deal: paid the price, less the cost, a lone commitment and a refused claim (no settlement)
    const e = defaultEconomics()
    const gas = (g: number): number => Math.round(g * e.gasPrice)
    expect(perDeal(bad)).toBe(Number(e.price - e.computeCost) - gas(GAS.commitResults) - gas(GAS.refused))
    expect(perDeal(bad)).toBeLessThan(honestProfitPerDeal(e))
    expect(perDeal(bad)).toBeLessThan(perDeal(row(s, 'resource-provider')))
    expect(bad.gainPerDeal).toBeLessThan(0n)
  })

  // an equivocator runs the job for the CID it commits and sends the creator another: a creator that checks
  // challenges it, and one that accepts finds the other CID on chain at its settle guard, so every
  // equivocation ends MediationRejected, at any p
  const equivocators = (p: number): ProfitRow => {
    const s = run('equivocators', { nodes: 300, jobs: 400, q: 0.3, p })
    expectInvariants(s, expect)
    expect(s.cheatsCaught).toBeGreaterThan(0)
    expect(s.outcomes.MediationRejected).toBe(s.cheatsCaught)
    expect(s.honestRejected).toBe(0)
    const bad = row(s, 'resource-provider (equivocating)')
    expect(bad.deals).toBeGreaterThan(40)
    expect(bad.perNode).toBeLessThan(row(s, 'resource-provider').perNode)
    expect(bad.gainPerDeal).toBeLessThan(0n)
    return bad
  }

  test.each([0, 0.1, 0.3])('equivocators, creators checking at p = %s: every equivocation is caught on chain, settles at once against the provider, and equivocators lose money', (p) => {
    expect(equivocators(p).perNode).toBeLessThan(0n)
  })
})
