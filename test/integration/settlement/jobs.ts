/** Requests of LilypadJobs answered by real deals: the relayer's job offer, its deal, the deal settled. */
import type { Deal, SignedDeal } from '../../../src/settlement/evidence.ts'
import type { JobOffer } from '../../../src/protocols/messages/schemas.ts'
import { messageId } from '../../../src/protocols/messages/signing.ts'
import type { DealOutcome } from '../../../src/state-machines/deal-states.ts'
import { CID, makeDeal, sign, type Fixture } from './fixture.ts'
import { reachOutcome, resultsFor } from './outcomes.ts'

export const COWSAY = {
  moduleRepo: 'github.com/Lilypad-Tech/lilypad-module-cowsay',
  moduleCommit: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2',
  modulePath: 'lilypad_module.json.tmpl'
}

/** The job creator's offer of a request's job, as its node makes one: the nonce is the request id. */
export function offerFor (f: Fixture, requestId: string, message: string, overrides: Partial<JobOffer> = {}): JobOffer {
  const at = 1_700_000_000_000
  return {
    author: f.wallets.jobCreator.address,
    nonce: BigInt(requestId).toString(),
    expiry: at + 600_000,
    ...COWSAY,
    specHash: '0x' + '12'.repeat(32),
    inputs: JSON.stringify({ Message: message }),
    image: '',
    inputsCid: '',
    urlPins: '',
    cpu: 1000,
    gpu: 0,
    gpuVramMb: 0,
    ramMb: 512,
    diskMb: 1024,
    maxPrice: '1000',
    maxSolverFee: '10',
    paymentCollateral: '1200',
    timeoutCollateral: '300',
    trustedMediators: [f.wallets.mediator.address],
    quorum: 1,
    trustedSolvers: [f.wallets.solver.address],
    matchDeadline: at + 600_000,
    agreeWithin: 30_000,
    submitWithin: 600_000,
    judgeWithin: 600_000,
    mediateWithin: 600_000,
    ...overrides
  }
}

/**
 * A deal for `offer`, settled to `outcome` (or left unsettled). On the Accepted path the job creator
 * first puts the provider's signed results on chain (`commitResults`), which a relayer does so that
 * the settlement holds the CID it delivers; `commit: false` leaves that out.
 */
export async function dealFor (f: Fixture, offer: JobOffer, outcome: DealOutcome | 'unsettled' = 'Accepted', options: { commit?: boolean, deal?: Partial<Deal> } = {}): Promise<SignedDeal> {
  const signed = await sign(f, await makeDeal(f, { ...options.deal, jobOfferId: messageId(f.clients.jobCreator.domain, 'JobOffer', offer) }))
  if (outcome === 'unsettled') return signed
  if (outcome === 'Accepted' && options.commit !== false) {
    const { results, signature } = await resultsFor(f, signed.deal, CID)
    await f.clients.jobCreator.commitResults(signed, results, signature)
  }
  await reachOutcome(f, signed, outcome)
  return signed
}
