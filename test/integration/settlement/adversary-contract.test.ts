/**
 * Strategic parties against the real contract: each describe is one attack, and shows the contract
 * refusing it or settling the deal the way the honest party is owed.
 */
import { keccak256, toUtf8Bytes } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  signDeal, signMessage, type AcceptedDeal, type SettlementErrorCode, type SettlementReceipt, type SignedDeal
} from '../../../src/settlement/index.ts'
import { lockedBy, settle } from '../../../src/state-machines/settle.ts'
import type { Deal, ResultsAccepted, ResultsSubmitted } from '../../../src/protocols/messages/schemas.ts'
import { CID, OTHER_CID, common, depositAll, makeDeal, sign, signAs, startFixture, type Fixture, type Party } from './fixture.ts'
import { commit, passDeadline, resultsFor } from './outcomes.ts'
import { chainTime } from '../../../src/settlement/index.ts'
import { expectCode, slashesOf, transfersOf } from './assertions.ts'

let f: Fixture
beforeAll(async () => {
  f = await startFixture()
  // 'outsider' and 'otherMediator' never deposit: they are the parties whose deposits cannot cover a deal
  await depositAll(f)
}, 180_000)
afterAll(async () => { await f?.stop() })

const balances = async (...who: Party[]): Promise<bigint[]> =>
  await Promise.all(who.map(async p => await f.clients.outsider.balanceOf(f.wallets[p].address)))

/** The job creator's challenge of `resultsCid`, with `results` (and its signature) as evidence. */
async function challengeWith (signed: SignedDeal, resultsCid: string, results: ResultsSubmitted, resultsSignature: string): Promise<SettlementReceipt> {
  const challenge = { ...common(f, 'jobCreator'), dealId: f.clients.jobCreator.dealId(signed.deal), resultsCid, mediator: f.wallets.mediator.address }
  return await f.clients.jobCreator.challengeResults(signed, challenge, await signAs(f, 'jobCreator', 'ResultsChallenged', challenge), results, resultsSignature)
}

/** A deal both parties signed, whose results (`CID`) the provider committed on chain. */
async function committedDeal (): Promise<{ deal: Deal, signed: SignedDeal, id: string }> {
  const deal = await makeDeal(f)
  const signed = await sign(f, deal)
  await commit(f, signed, CID)
  return { deal, signed, id: f.clients.jobCreator.dealId(deal) }
}

describe('CID equivocation', () => {
  it('settles at once against a provider that committed one CID and signed another, paying the unearned mediator fee to the creator', async () => {
    const { deal, signed, id } = await committedDeal()
    // what the provider sent the creator off chain: other results, signed all the same
    const sent = await resultsFor(f, deal, OTHER_CID)
    const before = await balances('jobCreator', 'resourceProvider', 'mediator')

    const receipt = await challengeWith(signed, OTHER_CID, sent.results, sent.signature)

    const equivocation = receipt.events.find(e => e.name === 'Equivocation')
    expect(equivocation?.args).toEqual({ dealId: id, committedCidHash: keccak256(toUtf8Bytes(CID)), challengedCid: OTHER_CID })
    expect(receipt.events.some(e => e.name === 'Challenged')).toBe(false)
    const table = settle(deal, { outcome: 'MediationRejected', mediator: f.wallets.mediator.address })
    const mediatorFee = BigInt(deal.mediatorFee)
    expect(transfersOf(receipt)).toEqual([
      { role: 'jobCreator', to: deal.jobCreator, amount: table.payouts.jobCreator + mediatorFee },
      { role: 'resourceProvider', to: deal.resourceProvider, amount: table.payouts.resourceProvider }
    ])
    expect(slashesOf(receipt)).toEqual(table.slashed)
    const locked = lockedBy(deal)
    const after = await balances('jobCreator', 'resourceProvider', 'mediator')
    expect(after.map((b, i) => b - (before[i] as bigint))).toEqual([
      table.payouts.jobCreator + mediatorFee - locked.jobCreator,
      table.payouts.resourceProvider - locked.resourceProvider,
      0n
    ])
    expect(await f.clients.outsider.dealRecord(id)).toEqual({ state: 'Settled', outcome: 'MediationRejected', locked: false, mediator: undefined, caseTaken: false })
  })

  /** A deal whose results the provider committed, with the creator's signed acceptance of `resultsCid`. */
  async function committedAndAccepted (resultsCid: string): Promise<{ deal: Deal, signed: SignedDeal, id: string, acceptance: ResultsAccepted, signature: string }> {
    const { deal, signed, id } = await committedDeal()
    const acceptance = { ...common(f, 'jobCreator'), dealId: id, resultsCid }
    return { deal, signed, id, acceptance, signature: await signAs(f, 'jobCreator', 'ResultsAccepted', acceptance) }
  }

  it('an acceptance of results other than those committed does not settle, alone or in a batch; the creator\'s challenge then settles against the provider', async () => {
    const { deal, signed, id, acceptance, signature } = await committedAndAccepted(OTHER_CID)
    const sent = await resultsFor(f, deal, OTHER_CID)
    await expectCode(f.clients.resourceProvider.settleAccepted(signed, acceptance, signature), 'RESULTS_MISMATCH')
    const batch = await f.clients.resourceProvider.settleBatch([{ signed, acceptance, acceptanceSignature: signature }])
    expect(batch.failed).toEqual([{ dealId: id, reason: 'RESULTS_MISMATCH' }])
    expect((await f.clients.outsider.dealRecord(id)).state).toBe('ResultsSubmitted')
    expect(await f.clients.outsider.resultsCidHash(id)).toBe(keccak256(toUtf8Bytes(CID)))
    await challengeWith(signed, OTHER_CID, sent.results, sent.signature)
    expect(await f.clients.outsider.dealRecord(id)).toEqual({ state: 'Settled', outcome: 'MediationRejected', locked: false, mediator: undefined, caseTaken: false })
  })

  it('an acceptance of the committed results settles', async () => {
    const { signed, id, acceptance, signature } = await committedAndAccepted(CID)
    await f.clients.jobCreator.settleAccepted(signed, acceptance, signature)
    expect((await f.clients.outsider.dealRecord(id)).outcome).toBe('Accepted')
  })

  it('does not take the creator\'s word for it: the other results must carry the provider\'s signature', async () => {
    const deal = await makeDeal(f)
    const signed = await sign(f, deal)
    await commit(f, signed, CID)
    const { results } = await resultsFor(f, deal, OTHER_CID)
    await expectCode(challengeWith(signed, OTHER_CID, results, await signAs(f, 'jobCreator', 'ResultsSubmitted', results)), 'WRONG_SIGNER')
    const byCreator = { ...results, author: f.wallets.jobCreator.address }
    await expectCode(challengeWith(signed, OTHER_CID, byCreator, await signAs(f, 'jobCreator', 'ResultsSubmitted', byCreator)), 'WRONG_AUTHOR')
    expect((await f.clients.outsider.dealRecord(f.clients.jobCreator.dealId(deal))).state).toBe('ResultsSubmitted')
  })

  it('is no longer claimable after the judge deadline', async () => {
    const deal = await makeDeal(f)
    const signed = await sign(f, deal)
    await commit(f, signed, CID)
    const sent = await resultsFor(f, deal, OTHER_CID)
    await passDeadline(f, deal.judgeDeadline)
    await expectCode(challengeWith(signed, OTHER_CID, sent.results, sent.signature), 'DEADLINE_PASSED')
  })
})

describe('challenge of results the provider never signed', () => {
  it('needs the provider\'s signed results for the challenged CID when nothing was committed', async () => {
    const deal = await makeDeal(f)
    const signed = await sign(f, deal)
    const { results, signature } = await resultsFor(f, deal, CID)
    const made = { ...results, author: f.wallets.jobCreator.address }
    await expectCode(challengeWith(signed, CID, made, await signAs(f, 'jobCreator', 'ResultsSubmitted', made)), 'WRONG_AUTHOR')
    await expectCode(challengeWith(signed, CID, results, await signAs(f, 'jobCreator', 'ResultsSubmitted', results)), 'WRONG_SIGNER')
    await expectCode(challengeWith(signed, OTHER_CID, results, signature), 'RESULTS_MISMATCH')
    const otherDeal = await resultsFor(f, await makeDeal(f), CID)
    await expectCode(challengeWith(signed, CID, otherDeal.results, otherDeal.signature), 'WRONG_DEAL')

    await challengeWith(signed, CID, results, signature)
    const id = f.clients.jobCreator.dealId(deal)
    expect(await f.clients.outsider.dealRecord(id)).toMatchObject({ state: 'Mediating', caseTaken: false })
    expect(await f.clients.outsider.judgeOf(signed)).toBe(f.wallets.mediator.address)
    expect(await f.clients.outsider.settlement.getFunction('resultsCidHash').staticCall(id)).toBe(keccak256(toUtf8Bytes(CID)))
  })
})

describe('lock griefing by an outsider', () => {
  it('refuses a lock from anyone but the deal\'s parties', async () => {
    const deal = await makeDeal(f)
    const signed = await sign(f, deal)
    const before = await balances('jobCreator', 'resourceProvider')
    await expectCode(f.clients.outsider.lockDeal(signed), 'NOT_CLAIMANT')
    expect(await balances('jobCreator', 'resourceProvider')).toEqual(before)
    await f.clients.resourceProvider.lockDeal(signed)
    expect((await f.clients.outsider.dealRecord(f.clients.jobCreator.dealId(deal))).locked).toBe(true)
  })
})

describe('frozen lock', () => {
  it('lets the provider close a locked deal the creator abandoned, once the mediate deadline has passed', async () => {
    const deal = await makeDeal(f)
    const signed = await sign(f, deal)
    const before = await balances('jobCreator', 'resourceProvider')
    await f.clients.jobCreator.lockDeal(signed)
    await passDeadline(f, deal.submitDeadline)
    await expectCode(f.clients.resourceProvider.claimTimeoutSubmit(signed), 'DEADLINE_NOT_PASSED')
    await passDeadline(f, deal.mediateDeadline)

    const receipt = await f.clients.resourceProvider.claimTimeoutSubmit(signed)

    const expected = settle(deal, { outcome: 'TimeoutSubmit' })
    expect(transfersOf(receipt)).toEqual(expected.transfers)
    expect(slashesOf(receipt)).toEqual(expected.slashed)
    const locked = lockedBy(deal)
    const after = await balances('jobCreator', 'resourceProvider')
    expect(after.map((b, i) => b - (before[i] as bigint))).toEqual([
      expected.payouts.jobCreator - locked.jobCreator,
      expected.payouts.resourceProvider - locked.resourceProvider
    ])
    expect(await f.clients.outsider.dealRecord(f.clients.jobCreator.dealId(deal))).toEqual({ state: 'Settled', outcome: 'TimeoutSubmit', locked: true, mediator: undefined, caseTaken: false })
  })
})

describe('unbounded deal lifetime', () => {
  const TWENTY_YEARS_MS = 20 * 365 * 24 * 3600 * 1000

  it('refuses a deal with a decades-long judge window on every path', async () => {
    const base = await makeDeal(f)
    const deal = { ...base, judgeDeadline: base.agreeDeadline + TWENTY_YEARS_MS, mediateDeadline: base.agreeDeadline + TWENTY_YEARS_MS }
    const signed = await sign(f, deal)
    const acceptance = { ...common(f, 'jobCreator'), dealId: f.clients.jobCreator.dealId(deal), resultsCid: CID }
    const acceptanceSignature = await signAs(f, 'jobCreator', 'ResultsAccepted', acceptance)
    await expectCode(f.clients.resourceProvider.settleAccepted(signed, acceptance, acceptanceSignature), 'BAD_DEADLINES')
    await expectCode(f.clients.jobCreator.lockDeal(signed), 'BAD_DEADLINES')
    await expectCode(commit(f, signed), 'BAD_DEADLINES')
  })

  it('bounds every deadline by the withdrawal delay after the agree deadline, and the offer\'s expiry by the agree deadline', async () => {
    const delayMs = (await f.clients.outsider.withdrawDelaySeconds()) * 1000
    const base = await makeDeal(f)
    await f.clients.jobCreator.lockDeal(await sign(f, { ...base, mediateDeadline: base.agreeDeadline + delayMs }))
    const beyond = await sign(f, { ...base, mediateDeadline: base.agreeDeadline + delayMs + 1 })
    await expectCode(f.clients.jobCreator.lockDeal(beyond), 'BAD_DEADLINES')
    const lateExpiry = await sign(f, { ...base, expiry: base.agreeDeadline + 1 })
    await expectCode(f.clients.jobCreator.lockDeal(lateExpiry), 'BAD_DEADLINES')
  })
})

describe('batch poisoning', () => {
  /** An accepted deal between `creator` and `provider`, signed by both. */
  async function accepted (creator: Party = 'jobCreator', provider: Party = 'resourceProvider'): Promise<AcceptedDeal> {
    const deal: Deal = await makeDeal(f, { jobCreator: f.wallets[creator].address, resourceProvider: f.wallets[provider].address })
    const signed = await signDeal(f.clients.jobCreator.domain, deal, f.wallets[creator], f.wallets[provider])
    const acceptance = { ...common(f, creator), dealId: f.clients.jobCreator.dealId(deal), resultsCid: CID }
    return { signed, acceptance, acceptanceSignature: await signMessage(f.wallets[creator], f.clients.jobCreator.domain, 'ResultsAccepted', acceptance) }
  }

  /** Settles the batch and checks that all but the middle entry settled, and the middle one failed with `reason`. */
  async function settleAllButMiddle (items: AcceptedDeal[], reason: SettlementErrorCode): Promise<void> {
    const [first, middle, last] = items as [AcceptedDeal, AcceptedDeal, AcceptedDeal]
    const receipt = await f.clients.resourceProvider.settleBatch(items)
    expect(receipt.failed).toEqual([{ dealId: middle.acceptance.dealId, reason }])
    expect(new Set(receipt.events.filter(e => e.name === 'Payout').map(e => e.args.dealId))).toEqual(new Set([first.acceptance.dealId, last.acceptance.dealId]))
    for (const item of [first, last]) expect((await f.clients.outsider.dealRecord(item.acceptance.dealId)).state).toBe('Settled')
    expect((await f.clients.outsider.dealRecord(middle.acceptance.dealId)).state).toBe('JobOffered')
    // the reason is what the single-deal path says about the same entry
    await expectCode(f.clients.resourceProvider.settleAccepted(middle.signed, middle.acceptance, middle.acceptanceSignature), reason)
  }

  it('settles the rest when one entry\'s job creator has no deposit', async () => {
    const items = [await accepted(), await accepted('outsider'), await accepted()]
    const before = await balances('jobCreator', 'resourceProvider', 'solver', 'outsider')
    await settleAllButMiddle(items, 'INSUFFICIENT_DEPOSIT')
    const after = await balances('jobCreator', 'resourceProvider', 'solver', 'outsider')
    const { transfers } = settle(items[0]!.signed.deal, { outcome: 'Accepted' })
    const paid = (role: string): bigint => 2n * (transfers.find(t => t.role === role)?.amount ?? 0n)
    const locked = lockedBy(items[0]!.signed.deal)
    expect(after.map((b, i) => b - (before[i] as bigint))).toEqual([
      paid('jobCreator') - 2n * locked.jobCreator,
      paid('resourceProvider') - 2n * locked.resourceProvider,
      paid('solver'),
      0n
    ])
  })

  it('leaves the creator\'s deposit untouched when only the provider\'s falls short', async () => {
    const items = [await accepted(), await accepted('jobCreator', 'otherMediator'), await accepted()]
    const before = await balances('jobCreator', 'otherMediator')
    await settleAllButMiddle(items, 'INSUFFICIENT_DEPOSIT')
    const after = await balances('jobCreator', 'otherMediator')
    const net = settle(items[0]!.signed.deal, { outcome: 'Accepted' }).payouts.jobCreator - lockedBy(items[0]!.signed.deal).jobCreator
    expect(after.map((b, i) => b - (before[i] as bigint))).toEqual([2n * net, 0n])
  })

  it('settles the rest when one entry\'s acceptance is forged', async () => {
    const forged = await accepted()
    forged.acceptanceSignature = await signAs(f, 'outsider', 'ResultsAccepted', forged.acceptance)
    await settleAllButMiddle([await accepted(), forged, await accepted()], 'WRONG_SIGNER')
  })
})

describe('reading a deal\'s transactions back from the chain', () => {
  it('finds the commitment among the blocks since the deal was made, and nothing among later ones', async () => {
    const { deal, id } = await committedDeal()
    const since = deal.agreeDeadline - 24 * 3600_000
    expect((await f.clients.jobCreator.commitmentOf(id, since))?.message.resultsCid).toBe(CID)
    expect((await f.clients.jobCreator.commitmentOf(id))?.message.resultsCid).toBe(CID)
    const later = (await chainTime(f.clients.jobCreator.provider)) * 1000 + 3600_000
    expect(await f.clients.jobCreator.commitmentOf(id, later)).toBeUndefined()
  })
})
