import type { Envelope } from '../../../protocols/messages/envelope.ts'
import type { Deal, MediationVerdict, ResultsAccepted, ResultsChallenged, ResultsSubmitted } from '../../../protocols/messages/schemas.ts'
import type { MachineOutput } from '../../../state-machines/contract.ts'
import type { EffectHandler } from '../../runtime/actor-runtime.ts'
import type { MessageStore } from '../message-store.ts'

export interface SignedDealEvidence {
  deal: Deal
  jobCreatorSignature: string
  resourceProviderSignature: string
}

/** The settlement calls role actors make (the chain adapter's, narrowed). */
export interface SettlementCalls {
  settleAccepted (signed: SignedDealEvidence, acceptance: ResultsAccepted, signature: string): Promise<unknown>
  settleVerdict (signed: SignedDealEvidence, verdict: MediationVerdict, signature: string): Promise<unknown>
  challengeResults (signed: SignedDealEvidence, challenge: ResultsChallenged, signature: string): Promise<unknown>
  commitResults (signed: SignedDealEvidence, results: ResultsSubmitted, signature: string): Promise<unknown>
  claimTimeoutSubmit (signed: SignedDealEvidence): Promise<unknown>
  claimTimeoutJudge (signed: SignedDealEvidence): Promise<unknown>
  claimTimeoutMediate (signed: SignedDealEvidence): Promise<unknown>
}

/** Errors that mean another party already did what this output asks: settlement is first come, first served. */
const DONE_ALREADY = new Set(['ALREADY_SETTLED', 'ALREADY_CHALLENGED', 'RESULTS_ALREADY_COMMITTED'])

export interface ChainEffectsModules {
  store: MessageStore
  settlement: SettlementCalls
}

/**
 * `chain.settle`, `chain.claim`, `chain.challenge`, `chain.commitResults`: put the signed messages
 * named as evidence on chain. A transaction another party already made counts as done.
 */
export function chainEffects ({ store, settlement }: ChainEffectsModules): Record<string, EffectHandler> {
  async function signedDeal (dealId: string): Promise<SignedDealEvidence> {
    const envelope = await store.require(dealId) as Envelope<'Deal'>
    if (envelope.signatures.length !== 2) throw new Error(`deal ${dealId} is not signed by both parties`)
    return { deal: envelope.message, jobCreatorSignature: envelope.signatures[0]!, resourceProviderSignature: envelope.signatures[1]! }
  }
  async function evidence<T> (id: unknown): Promise<{ message: T, signature: string }> {
    const envelope = await store.require(String(id))
    return { message: envelope.message as T, signature: envelope.signatures[0]! }
  }
  const once = async (call: () => Promise<unknown>): Promise<void> => {
    try {
      await call()
    } catch (err) {
      if (!DONE_ALREADY.has((err as { code?: string }).code ?? '')) throw err
    }
  }
  const evidenceOf = (output: MachineOutput): unknown[] => Array.isArray(output.evidence) ? output.evidence : []

  return {
    'chain.settle': async (output) => {
      const deal = await signedDeal(String(output.dealId))
      const proof = evidenceOf(output)[1]
      if (output.outcome === 'Accepted') {
        const accepted = await evidence<ResultsAccepted>(proof)
        await once(() => settlement.settleAccepted(deal, accepted.message, accepted.signature))
      } else {
        const verdict = await evidence<MediationVerdict>(proof)
        await once(() => settlement.settleVerdict(deal, verdict.message, verdict.signature))
      }
    },
    'chain.claim': async (output) => {
      const deal = await signedDeal(String(output.dealId))
      switch (output.claim) {
        case 'TimeoutSubmit': await once(() => settlement.claimTimeoutSubmit(deal)); break
        case 'TimeoutJudge': await once(() => settlement.claimTimeoutJudge(deal)); break
        case 'TimeoutMediate': await once(() => settlement.claimTimeoutMediate(deal)); break
        default: throw new Error(`unknown claim ${String(output.claim)}`)
      }
    },
    'chain.challenge': async (output) => {
      const deal = await signedDeal(String(output.dealId))
      const challenge = await evidence<ResultsChallenged>(evidenceOf(output)[1])
      await once(() => settlement.challengeResults(deal, challenge.message, challenge.signature))
    },
    'chain.commitResults': async (output) => {
      const deal = await signedDeal(String(output.dealId))
      const results = await evidence<ResultsSubmitted>(`results:${String(output.dealId)}`)
      await once(() => settlement.commitResults(deal, results.message, results.signature))
    }
  }
}
