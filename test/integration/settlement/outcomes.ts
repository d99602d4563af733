/** Drives a signed deal to an outcome along its real on-chain path: messages, claims and the clock. */
import { increaseTime, type SettlementReceipt, type SignedDeal } from '../../../src/settlement/index.ts'
import type { DealOutcome } from '../../../src/state-machines/deal-states.ts'
import type { Deal, ResultsSubmitted } from '../../../src/protocols/messages/schemas.ts'
import { CID, OTHER_CID, common, signAs, type Fixture } from './fixture.ts'

export async function passDeadline (f: Fixture, deadlineMs: number): Promise<void> {
  const block = await f.clients.jobCreator.provider.getBlock('latest')
  const wait = Math.ceil(deadlineMs / 1000) - (block?.timestamp ?? 0) + 1
  if (wait > 0) await increaseTime(f.clients.jobCreator.provider, wait)
}

export async function acceptanceFor (f: Fixture, deal: Deal): Promise<{ acceptance: { author: string, nonce: string, expiry: number, dealId: string, resultsCid: string }, signature: string }> {
  const acceptance = { ...common(f, 'jobCreator'), dealId: f.clients.jobCreator.dealId(deal), resultsCid: CID }
  return { acceptance, signature: await signAs(f, 'jobCreator', 'ResultsAccepted', acceptance) }
}

/** The provider's signed results of a deal. */
export async function resultsFor (f: Fixture, deal: Deal, resultsCid = CID): Promise<{ results: ResultsSubmitted, signature: string }> {
  const results = { ...common(f, 'resourceProvider'), dealId: f.clients.jobCreator.dealId(deal), resultsCid, exitCode: 0, cpuMs: 10, durationMs: 20 }
  return { results, signature: await signAs(f, 'resourceProvider', 'ResultsSubmitted', results) }
}

export async function commit (f: Fixture, signed: SignedDeal, resultsCid = CID): Promise<SettlementReceipt> {
  const { results, signature } = await resultsFor(f, signed.deal, resultsCid)
  return await f.clients.resourceProvider.commitResults(signed, results, signature)
}

/** The job creator's challenge of `resultsCid`, with the provider's signed results of it as evidence. */
export async function challenge (f: Fixture, signed: SignedDeal, resultsCid = CID): Promise<SettlementReceipt> {
  const c = { ...common(f, 'jobCreator'), dealId: f.clients.jobCreator.dealId(signed.deal), resultsCid }
  const { results, signature } = await resultsFor(f, signed.deal, resultsCid)
  return await f.clients.jobCreator.challengeResults(signed, c, await signAs(f, 'jobCreator', 'ResultsChallenged', c), results, signature)
}

/** The settling transaction's receipt. With `mediatorTakesCase`, the mediator takes the case of a challenge. */
export async function reachOutcome (f: Fixture, signed: SignedDeal, outcome: DealOutcome, mediatorTakesCase = false): Promise<SettlementReceipt> {
  const deal = signed.deal
  switch (outcome) {
    case 'Accepted': {
      const { acceptance, signature } = await acceptanceFor(f, deal)
      return await f.clients.resourceProvider.settleAccepted(signed, acceptance, signature)
    }
    case 'TimeoutSubmit':
      await passDeadline(f, deal.submitDeadline)
      return await f.clients.jobCreator.claimTimeoutSubmit(signed)
    case 'TimeoutJudge':
      await commit(f, signed)
      await passDeadline(f, deal.judgeDeadline)
      return await f.clients.resourceProvider.claimTimeoutJudge(signed)
    case 'TimeoutMediate':
      await commit(f, signed)
      await challenge(f, signed)
      if (mediatorTakesCase) await f.clients.mediator.takeCase(signed)
      await passDeadline(f, deal.mediateDeadline)
      return await f.clients.jobCreator.claimTimeoutMediate(signed)
    case 'MediationAccepted':
    case 'MediationRejected': {
      await commit(f, signed)
      await challenge(f, signed)
      await f.clients.mediator.takeCase(signed)
      const providerAtFault = outcome === 'MediationRejected'
      const verdict = { ...common(f, 'mediator'), dealId: f.clients.jobCreator.dealId(deal), resultsCid: CID, mediatorCid: providerAtFault ? OTHER_CID : CID, providerAtFault }
      return await f.clients.mediator.settleVerdict(signed, verdict, await signAs(f, 'mediator', 'MediationVerdict', verdict))
    }
    default: {
      const never: never = outcome
      throw new Error(`unknown outcome ${String(never)}`)
    }
  }
}
