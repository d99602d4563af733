import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { increaseTime, type SignedDeal } from '../../../src/settlement/index.ts'
import { settle } from '../../../src/state-machines/settle.ts'
import type { Deal } from '../../../src/protocols/messages/schemas.ts'
import { CID, OTHER_CID, common, depositAll, makeDeal, sign, signAs, startFixture, type Fixture } from './fixture.ts'
import { expectCode, slashesOf, transfersOf } from './assertions.ts'
import { resultsFor } from './outcomes.ts'

let f: Fixture

beforeAll(async () => {
  f = await startFixture()
  await depositAll(f)
}, 180_000)
afterAll(async () => { await f?.stop() })

async function accepted (deal: Deal): Promise<{ signed: SignedDeal, acceptance: ReturnType<typeof acceptanceOf>, signature: string }> {
  const signed = await sign(f, deal)
  const acceptance = acceptanceOf(f.clients.jobCreator.dealId(deal))
  return { signed, acceptance, signature: await signAs(f, 'jobCreator', 'ResultsAccepted', acceptance) }
}

function acceptanceOf (dealId: string): { author: string, nonce: string, expiry: number, dealId: string, resultsCid: string } {
  return { ...common(f, 'jobCreator'), dealId, resultsCid: CID }
}

async function committed (deal: Deal): Promise<SignedDeal> {
  const signed = await sign(f, deal)
  const { results, signature } = await resultsFor(f, deal)
  await f.clients.resourceProvider.commitResults(signed, results, signature)
  return signed
}

async function challenged (deal: Deal): Promise<SignedDeal> {
  const signed = await committed(deal)
  const challenge = { ...common(f, 'jobCreator'), dealId: f.clients.jobCreator.dealId(deal), resultsCid: CID }
  const { results, signature } = await resultsFor(f, deal)
  await f.clients.jobCreator.challengeResults(signed, challenge, await signAs(f, 'jobCreator', 'ResultsChallenged', challenge), results, signature)
  return signed
}

function verdictOf (deal: Deal, providerAtFault: boolean, who: 'mediator' | 'otherMediator' = 'mediator'): {
  author: string, nonce: string, expiry: number, dealId: string, resultsCid: string, mediatorCid: string, providerAtFault: boolean
} {
  return { ...common(f, who), dealId: f.clients.jobCreator.dealId(deal), resultsCid: CID, mediatorCid: providerAtFault ? OTHER_CID : CID, providerAtFault }
}

async function secondsPast (deadlineMs: number): Promise<void> {
  const block = await f.clients.jobCreator.provider.getBlock('latest')
  const wait = Math.ceil(deadlineMs / 1000) - (block?.timestamp ?? 0) + 1
  if (wait > 0) await increaseTime(f.clients.jobCreator.provider, wait)
}

describe('settlement paths', () => {
  it('computes the same deal id as the wire', async () => {
    const deal = await makeDeal(f)
    const onChain = await f.clients.jobCreator.settlement.getFunction('dealId').staticCall(deal)
    expect(onChain).toBe(f.clients.jobCreator.dealId(deal))
  })

  it('settles an accepted deal once, paying what settle() computes', async () => {
    const deal = await makeDeal(f)
    const { signed, acceptance, signature } = await accepted(deal)
    const before = await Promise.all([f.clients.jobCreator.balanceOf(), f.clients.resourceProvider.balanceOf(), f.clients.solver.balanceOf(f.wallets.solver.address)])
    const receipt = await f.clients.resourceProvider.settleAccepted(signed, acceptance, signature)
    expect(transfersOf(receipt)).toEqual(settle(deal, { outcome: 'Accepted' }).transfers)
    const after = await Promise.all([f.clients.jobCreator.balanceOf(), f.clients.resourceProvider.balanceOf(), f.clients.solver.balanceOf(f.wallets.solver.address)])
    expect(after[0] - before[0]).toBe(-1010n)
    expect(after[1] - before[1]).toBe(1000n)
    expect(after[2] - before[2]).toBe(10n)
    expect(await f.clients.outsider.dealRecord(acceptance.dealId)).toEqual({ state: 'Settled', outcome: 'Accepted', locked: false, mediator: undefined, caseTaken: false })
    await expectCode(f.clients.resourceProvider.settleAccepted(signed, acceptance, signature), 'ALREADY_SETTLED')
    await expectCode(f.clients.jobCreator.claimTimeoutSubmit(signed), 'ALREADY_SETTLED')
  })

  it('rejects a malformed signature', async () => {
    const deal = await makeDeal(f)
    const { signed, acceptance, signature } = await accepted(deal)
    await expectCode(f.clients.outsider.settleAccepted({ ...signed, resourceProviderSignature: signed.resourceProviderSignature.slice(0, 100) }, acceptance, signature), 'BAD_SIGNATURE')
    await expectCode(f.clients.outsider.lockDeal({ ...signed, jobCreatorSignature: signed.jobCreatorSignature.slice(0, 100) }), 'BAD_SIGNATURE')
    await expectCode(f.clients.resourceProvider.settleAccepted(signed, acceptance, '0x' + '00'.repeat(65)), 'BAD_SIGNATURE')
  })

  it('rejects a signature by the wrong signer, and a deal changed after signing', async () => {
    const deal = await makeDeal(f)
    const { signed, acceptance, signature } = await accepted(deal)
    const forged = await signAs(f, 'outsider', 'Deal', deal)
    const err = await expectCode(f.clients.outsider.settleAccepted({ ...signed, resourceProviderSignature: forged }, acceptance, signature), 'WRONG_SIGNER')
    expect(err.message).toContain(f.wallets.outsider.address)
    await expectCode(f.clients.outsider.settleAccepted({ ...signed, resourceProviderSignature: '0x' }, acceptance, signature), 'BAD_SIGNATURE')
    const byProvider = await signAs(f, 'resourceProvider', 'ResultsAccepted', acceptance)
    await expectCode(f.clients.resourceProvider.settleAccepted(signed, acceptance, byProvider), 'WRONG_SIGNER')
    // a deal changed after signing: its id changes, so the acceptance no longer names it and the signatures fail
    const changed = { ...signed, deal: { ...deal, price: '1100' } }
    await expectCode(f.clients.resourceProvider.settleAccepted(changed, acceptance, signature), 'WRONG_DEAL')
    await expectCode(f.clients.outsider.lockDeal(changed), 'WRONG_SIGNER')
    await expectCode(f.clients.jobCreator.claimTimeoutSubmit(changed), 'WRONG_SIGNER')
    await expectCode(f.clients.resourceProvider.settleAccepted(signed, { ...acceptance, author: f.wallets.outsider.address }, signature), 'WRONG_AUTHOR')
    await expectCode(f.clients.resourceProvider.settleAccepted(signed, { ...acceptance, dealId: '0x' + '55'.repeat(32) }, signature), 'WRONG_DEAL')
  })

  it('announces a settlement that moved nothing', async () => {
    const zero = { price: '0', solverFee: '0', mediatorFee: '0', paymentCollateral: '0', jobCreatorTimeoutCollateral: '0', resultsCollateral: '0', timeoutCollateral: '0' }
    const { signed, acceptance, signature } = await accepted(await makeDeal(f, zero))
    const receipt = await f.clients.resourceProvider.settleAccepted(signed, acceptance, signature)
    expect(receipt.events.map(e => [e.name, e.args.outcome])).toEqual([['DealSettled', 4n]])
  })

  it('refuses to settle against an insufficient deposit', async () => {
    const deal = await makeDeal(f, { paymentCollateral: '500000', price: '1000' })
    const { signed, acceptance, signature } = await accepted(deal)
    const err = await expectCode(f.clients.resourceProvider.settleAccepted(signed, acceptance, signature), 'INSUFFICIENT_DEPOSIT')
    expect(err.message).toContain('500300')
  })

  it('refuses an undercollateralised deal', async () => {
    const deal = await makeDeal(f, { paymentCollateral: '1000' })
    const { signed, acceptance, signature } = await accepted(deal)
    await expectCode(f.clients.resourceProvider.settleAccepted(signed, acceptance, signature), 'UNDERCOLLATERALISED')
  })

  it('TimeoutSubmit: refused early and by others, then pays the creator the provider\'s timeout collateral', async () => {
    const deal = await makeDeal(f)
    const signed = await sign(f, deal)
    await expectCode(f.clients.jobCreator.claimTimeoutSubmit(signed), 'DEADLINE_NOT_PASSED')
    await secondsPast(deal.submitDeadline)
    await expectCode(f.clients.outsider.claimTimeoutSubmit(signed), 'NOT_CLAIMANT')
    // the provider's own claim waits for the mediate deadline
    await expectCode(f.clients.resourceProvider.claimTimeoutSubmit(signed), 'DEADLINE_NOT_PASSED')
    const receipt = await f.clients.jobCreator.claimTimeoutSubmit(signed)
    const expected = settle(deal, { outcome: 'TimeoutSubmit' })
    expect(transfersOf(receipt)).toEqual(expected.transfers)
    expect(slashesOf(receipt)).toEqual(expected.slashed)
    expect(expected.slashed).toEqual([{ from: 'resourceProvider', to: 'jobCreator', amount: 100n }])
  })

  it('TimeoutSubmit fails against a provider who committed its results in time', async () => {
    const deal = await makeDeal(f)
    const signed = await committed(deal)
    await secondsPast(deal.submitDeadline)
    await expectCode(f.clients.jobCreator.claimTimeoutSubmit(signed), 'RESULTS_ALREADY_COMMITTED')
  })

  it('takes a deal it recorded as agreed: the creator challenges committed results without the provider\'s co-signature, never an unrecorded deal', async () => {
    const deal = await makeDeal(f)
    const creatorOnly: SignedDeal = { ...(await sign(f, deal)), resourceProviderSignature: '0x' }
    const challenge = { ...common(f, 'jobCreator'), dealId: f.clients.jobCreator.dealId(deal), resultsCid: CID }
    const challengeSignature = await signAs(f, 'jobCreator', 'ResultsChallenged', challenge)
    const { results, signature } = await resultsFor(f, deal)
    await expect(f.clients.jobCreator.challengeResults(creatorOnly, challenge, challengeSignature, results, signature)).rejects.toThrow()
    await committed(deal)
    await f.clients.jobCreator.challengeResults(creatorOnly, challenge, challengeSignature, results, signature)
    expect((await f.clients.outsider.dealRecord(f.clients.jobCreator.dealId(deal))).state).toBe('Mediating')
  })

  it('refuses a results commitment after the submit deadline', async () => {
    const deal = await makeDeal(f)
    await secondsPast(deal.submitDeadline)
    await expectCode(committed(deal), 'DEADLINE_PASSED')
  })

  it('TimeoutJudge needs a commitment and the judge deadline, then pays the provider', async () => {
    const plain = await makeDeal(f)
    const deal = await makeDeal(f)
    const signed = await committed(deal)
    await expectCode(f.clients.resourceProvider.claimTimeoutJudge(signed), 'DEADLINE_NOT_PASSED')
    await secondsPast(deal.judgeDeadline)
    await expectCode(f.clients.resourceProvider.claimTimeoutJudge(await sign(f, plain)), 'NO_RESULTS_COMMITTED')
    await expectCode(f.clients.jobCreator.claimTimeoutJudge(signed), 'NOT_CLAIMANT')
    const receipt = await f.clients.resourceProvider.claimTimeoutJudge(signed)
    const expected = settle(deal, { outcome: 'TimeoutJudge' })
    expect(transfersOf(receipt)).toEqual(expected.transfers)
    expect(slashesOf(receipt)).toEqual(expected.slashed)
  })

  it('mediation: the drawn judge\'s verdict settles, once it took the case, against the provider or the creator', async () => {
    for (const providerAtFault of [true, false]) {
      const deal = await makeDeal(f)
      const signed = await challenged(deal)
      const id = f.clients.jobCreator.dealId(deal)
      expect(await f.clients.outsider.dealRecord(id)).toMatchObject({ state: 'Mediating', mediator: undefined, caseTaken: false })
      expect(await f.clients.outsider.judgeOf(signed)).toBe(f.wallets.mediator.address)
      await expectCode(f.clients.resourceProvider.claimTimeoutJudge(signed), 'ALREADY_CHALLENGED')
      const untaken = verdictOf(deal, providerAtFault)
      await expectCode(f.clients.outsider.settleVerdict(signed, untaken, await signAs(f, 'mediator', 'MediationVerdict', untaken)), 'CASE_NOT_TAKEN')
      await f.clients.mediator.takeCase(signed)
      const byOther = verdictOf(deal, providerAtFault, 'otherMediator')
      await expectCode(f.clients.outsider.settleVerdict(signed, byOther, await signAs(f, 'otherMediator', 'MediationVerdict', byOther)), 'WRONG_AUTHOR')
      const verdict = verdictOf(deal, providerAtFault)
      await expectCode(f.clients.outsider.settleVerdict(signed, verdict, await signAs(f, 'otherMediator', 'MediationVerdict', verdict)), 'WRONG_SIGNER')
      const receipt = await f.clients.outsider.settleVerdict(signed, verdict, await signAs(f, 'mediator', 'MediationVerdict', verdict))
      const outcome = providerAtFault ? 'MediationRejected' : 'MediationAccepted'
      const expected = settle(deal, { outcome, mediator: f.wallets.mediator.address })
      expect(transfersOf(receipt)).toEqual(expected.transfers)
      expect(slashesOf(receipt)).toEqual(expected.slashed)
      expect(expected.transfers.find(t => t.role === 'mediator')).toEqual({ role: 'mediator', to: f.wallets.mediator.address, amount: 50n })
      expect((await f.clients.outsider.dealRecord(id)).outcome).toBe(outcome)
    }
  })

  it('refuses a challenge of a deal with no mediator to judge it, or one posted too late', async () => {
    await expectCode(challenged(await makeDeal(f, { mediators: [] })), 'NO_MEDIATORS')
    const late = await makeDeal(f)
    const signed = await committed(late)
    await secondsPast(late.judgeDeadline)
    const challenge = { ...common(f, 'jobCreator'), dealId: f.clients.jobCreator.dealId(late), resultsCid: CID }
    const { results, signature } = await resultsFor(f, late)
    await expectCode(f.clients.jobCreator.challengeResults(signed, challenge, await signAs(f, 'jobCreator', 'ResultsChallenged', challenge), results, signature), 'DEADLINE_PASSED')
  })

  it('refuses a challenge about other results than the committed ones, unless the provider signed them', async () => {
    const deal = await makeDeal(f)
    const signed = await committed(deal)
    const challenge = { ...common(f, 'jobCreator'), dealId: f.clients.jobCreator.dealId(deal), resultsCid: OTHER_CID }
    const { results, signature } = await resultsFor(f, deal)
    await expectCode(f.clients.jobCreator.challengeResults(signed, challenge, await signAs(f, 'jobCreator', 'ResultsChallenged', challenge), results, signature), 'RESULTS_MISMATCH')
  })

  it('TimeoutMediate refunds both once the mediate deadline has passed', async () => {
    const unchallenged = await makeDeal(f)
    const deal = await makeDeal(f)
    const signed = await challenged(deal)
    await f.clients.mediator.takeCase(signed)
    await expectCode(f.clients.jobCreator.claimTimeoutMediate(signed), 'DEADLINE_NOT_PASSED')
    await secondsPast(deal.mediateDeadline)
    await expectCode(f.clients.jobCreator.claimTimeoutMediate(await sign(f, unchallenged)), 'NOT_CHALLENGED')
    await expectCode(f.clients.outsider.claimTimeoutMediate(signed), 'NOT_CLAIMANT')
    await expectCode(f.clients.mediator.takeCase(signed), 'DEADLINE_PASSED')
    const verdict = verdictOf(deal, true)
    await expectCode(f.clients.outsider.settleVerdict(signed, verdict, await signAs(f, 'mediator', 'MediationVerdict', verdict)), 'DEADLINE_PASSED')
    const receipt = await f.clients.resourceProvider.claimTimeoutMediate(signed)
    expect(transfersOf(receipt)).toEqual(settle(deal, { outcome: 'TimeoutMediate' }).transfers)
  })

  it('settles a batch, skipping a deal settled meanwhile', async () => {
    const deals = await Promise.all([1, 2, 3].map(async () => await makeDeal(f)))
    const items = await Promise.all(deals.map(async d => {
      const { signed, acceptance, signature } = await accepted(d)
      return { signed, acceptance, acceptanceSignature: signature }
    }))
    const first = items[0]!
    await f.clients.jobCreator.settleAccepted(first.signed, first.acceptance, first.acceptanceSignature)
    const receipt = await f.clients.resourceProvider.settleBatch(items)
    expect(receipt.events.filter(e => e.name === 'SettlementSkipped').map(e => e.args.dealId)).toEqual([first.acceptance.dealId])
    expect(new Set(receipt.events.filter(e => e.name === 'Payout').map(e => e.args.dealId))).toEqual(new Set(items.slice(1).map(i => i.acceptance.dealId)))
    for (const item of items) expect((await f.clients.outsider.dealRecord(item.acceptance.dealId)).state).toBe('Settled')
  })

  it('locks a large deal\'s funds at agreement and settles from the lock', async () => {
    const deal = await makeDeal(f)
    const { signed, acceptance, signature } = await accepted(deal)
    const before = await f.clients.jobCreator.balanceOf()
    await f.clients.jobCreator.lockDeal(signed)
    expect(await f.clients.jobCreator.balanceOf()).toBe(before - 1500n)
    await expectCode(f.clients.jobCreator.lockDeal(signed), 'ALREADY_LOCKED')
    await f.clients.resourceProvider.settleAccepted(signed, acceptance, signature)
    expect(await f.clients.jobCreator.balanceOf()).toBe(before - 1010n)
    expect((await f.clients.outsider.dealRecord(acceptance.dealId)).locked).toBe(true)
  })

  it('reports every movement to a watcher', async () => {
    const seen: string[] = []
    const from = await f.clients.outsider.provider.getBlockNumber() + 1
    const stop = f.clients.outsider.watch({ fromBlock: from, pollingIntervalMs: 20, onEvent: e => { seen.push(`${e.name}:${String(e.args.role ?? '')}`) } })
    try {
      const { signed, acceptance, signature } = await accepted(await makeDeal(f))
      await f.clients.resourceProvider.settleAccepted(signed, acceptance, signature)
      await expect.poll(() => seen, { timeout: 5000, interval: 20 }).toEqual(['Payout:0', 'Payout:1', 'Payout:3'])
    } finally {
      stop()
    }
  })
})

describe('deposits and withdrawals', () => {
  it('pays a withdrawal only after the delay, and what is left of it', async () => {
    const c = f.clients.outsider
    await expectCode(c.deposit(0n), 'ZERO_AMOUNT')
    await c.deposit(5000n)
    const tokens = await c.tokenBalanceOf()
    await expectCode(c.withdraw(), 'NO_WITHDRAWAL_REQUESTED')
    await expectCode(c.requestWithdrawal(6000n), 'INSUFFICIENT_DEPOSIT')
    await c.requestWithdrawal(3000n)
    await expectCode(c.withdraw(), 'WITHDRAWAL_NOT_READY')
    await increaseTime(c.provider, 3000)
    await expectCode(c.withdraw(), 'WITHDRAWAL_NOT_READY')
    await increaseTime(c.provider, 601)
    const receipt = await c.withdraw()
    expect(receipt.events.find(e => e.name === 'Withdrawn')?.args.amount).toBe(3000n)
    expect(await c.tokenBalanceOf()).toBe(tokens + 3000n)
    expect(await c.balanceOf()).toBe(2000n)
    expect(await c.withdrawalOf()).toBeUndefined()
  })

  it('explains a deposit beyond the token allowance or balance', async () => {
    const c = f.clients.mediator
    await expectCode(c.deposit(10n ** 30n), 'TOKEN_INSUFFICIENT_BALANCE')
  })
})
