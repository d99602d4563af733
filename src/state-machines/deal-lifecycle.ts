/**
 * The rules of one deal as every role applies them (docs/protocol.md): who may sign which message
 * about a deal, until which deadline, what a party checks before it binds itself, and when it must
 * act to stay whole. The role machines keep their own records of their deals; the rules are here,
 * once, so that the provider, the job creator and the mediator cannot disagree about them.
 */
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { LIMITS } from '../protocols/messages/fields.ts'
import { keccak256 } from '../protocols/messages/keccak.ts'
import type { Verified } from '../protocols/messages/envelope.ts'
import type { Deal } from '../protocols/messages/schemas.ts'
import { includesAddress, sameAddress } from './common.ts'
import type { InputEvent, MachineOutput } from './contract.ts'
import { violation } from './rejection.ts'
import { lockedBy } from './settle.ts'

/**
 * The longest a deal may last from its signing to its mediate deadline. The settlement contract's
 * withdrawal delay is longer (a week by default), so a withdrawal asked for after signing is paid
 * only after every deadline of the deal has passed, with a day to spare for the last claims.
 */
export const MAX_DEAL_LIFETIME_MS = LIMITS.maxDealLifetimeMs

/**
 * The failures of a run that belong to the job, whatever machine runs it (bad inputs, a module that
 * does not render to the offer's spec, outputs the results layer refuses): every honest run of the
 * job fails alike. Any other failure (no GPU, no engine, an image or module this machine could not
 * get, an engine that broke) is the machine's own: another machine may run the job fine, so a check
 * or a re-run that fails so says nothing about the provider's results.
 */
export const JOB_FAILURES: readonly string[] = ['ERR_BAD_INPUTS', 'ERR_MODULE_INVALID', 'ERR_SPEC_MISMATCH', 'ERR_IMAGE_NOT_PINNED', 'ERR_OUTPUTS_REFUSED', 'ERR_OUTPUTS_TOO_LARGE', 'ERR_INPUTS_INVALID']

/** Whether a run of our own (a check, a re-run) that gave `rerunCid` can judge results `resultsCid`. */
export function rerunJudges (rerunCid: string, failure: unknown, resultsCid: string | null): boolean {
  return rerunCid === resultsCid || failure === undefined || failure === null || JOB_FAILURES.includes(String(failure))
}

/** A party about to sign refuses a deal that would outlast the deposits it is signed against. */
export function expectBoundedLifetime (deal: Pick<Deal, 'mediateDeadline'>, at: number): void {
  if (deal.mediateDeadline - at > MAX_DEAL_LIFETIME_MS) violation('UNBOUNDED', 'the deal lasts longer than a deal may')
}

/**
 * A deposit as read from the chain, with what its owner's open deals lock of it as the reader
 * knows them (agreed deals are gossiped, DESIGN §8): those with others, and those with the reader.
 */
export interface Deposit {
  balance: bigint
  withdrawing: bigint
  lockedWithOthers: bigint
  lockedWithUs: bigint
}

/** A deposit as a `chain.deposit` event reports it (a read logged before open deals were counted counts none). */
export function depositOf (e: InputEvent): Deposit {
  const amount = (v: unknown): bigint => BigInt(String(v ?? '0'))
  return { balance: amount(e.balance), withdrawing: amount(e.withdrawing), lockedWithOthers: amount(e.lockedWithOthers), lockedWithUs: amount(e.lockedWithUs) }
}

/**
 * Whether a party's deposit covers what a deal locks of it, beside what its other open deals lock:
 * the exposure check of DESIGN §8, made before signing. `lockedWithUs` is what the reader's own
 * open deals with the party lock, where the reader counts them itself (a provider also counts the
 * deals it is signing).
 */
export function depositCovers (deposit: Deposit, locked: bigint, lockedWithUs = deposit.lockedWithUs): boolean {
  return deposit.balance - deposit.withdrawing - deposit.lockedWithOthers - lockedWithUs >= locked
}

/** What a deal locks of the job creator's and of the provider's deposits. */
export const creatorLock = (deal: Deal): bigint => lockedBy(deal).jobCreator
export const providerLock = (deal: Deal): bigint => lockedBy(deal).resourceProvider

/**
 * When a provider whose results were not accepted commits them on chain: `margin` before the submit
 * deadline, and never before it had them. A creator's TimeoutSubmit claim fails against a commitment.
 */
export function commitAt (deal: Pick<Deal, 'submitDeadline'>, resultsAt: number, marginMs: number): number {
  return Math.min(deal.submitDeadline, Math.max(resultsAt, deal.submitDeadline - marginMs))
}

/**
 * When the job creator looks at the chain after accepting: once no commitment can come any more (the
 * submit deadline has passed) and in good time before the judge deadline, halfway between the two.
 * A provider that committed its results on chain, took the acceptance and stayed silent would claim
 * TimeoutJudge at the judge deadline and take the creator's timeout collateral; the creator settles
 * its own acceptance first.
 */
export function settleGuardAt (deal: Pick<Deal, 'submitDeadline' | 'judgeDeadline'>): number {
  return deal.submitDeadline + 1 + Math.floor((deal.judgeDeadline - deal.submitDeadline) / 2)
}

/**
 * The hash under which the chain records a deal's results (the contract's `resultsCidHash`): a party
 * holding the provider's signature on one CID learns from it whether the provider committed another.
 */
export function resultsCidHash (resultsCid: string): string {
  return '0x' + bytesToHex(keccak256(utf8ToBytes(resultsCid)))
}

/** Refuses what comes after the deadline that governs it. */
export function expectBy (at: number, deadline: number, what: string): void {
  if (at > deadline) violation('LATE', `${what} after its deadline`)
}

/** Results of the deal: naming it, signed by its provider. */
export function expectResultsOf (deal: Deal, dealId: string, results: Verified<'ResultsSubmitted'>): void {
  if (results.message.dealId !== dealId) violation('WRONG_DEAL', 'results for another deal')
  if (!sameAddress(results.message.author, deal.resourceProvider)) violation('WRONG_PARTY', 'results not by the provider')
}

/** An acceptance: of the deal, by its job creator, of the results held. */
export function expectAcceptanceOf (deal: Deal, dealId: string, accepted: Verified<'ResultsAccepted'>, resultsCid: string | null): void {
  if (accepted.message.dealId !== dealId) violation('WRONG_DEAL', 'an acceptance of another deal')
  if (!sameAddress(accepted.message.author, deal.jobCreator)) violation('WRONG_PARTY', 'not by the job creator')
  if (accepted.message.resultsCid !== resultsCid) violation('INCONSISTENT', 'acceptance of other results')
}

/** A challenge: of the deal, by its job creator, of the results held (the chain draws its judge from the deal's mediators). */
export function expectChallengeOf (deal: Deal, dealId: string, challenge: Verified<'ResultsChallenged'>, resultsCid: string | null): void {
  if (challenge.message.dealId !== dealId) violation('WRONG_DEAL', 'a challenge of another deal')
  if (!sameAddress(challenge.message.author, deal.jobCreator)) violation('WRONG_PARTY', 'the challenge is not by the job creator')
  if (challenge.message.resultsCid !== resultsCid) violation('INCONSISTENT', 'the challenge names other results')
}

/**
 * A verdict: on the deal, by one of its mediators, on the results held. Which mediator judges is the
 * chain's draw, and only its verdict settles there: a party puts a verdict on chain and takes the
 * outcome the chain then holds (see settleVerdict), never the verdict's word alone.
 */
export function expectVerdictOf (deal: Deal, dealId: string, verdict: Verified<'MediationVerdict'>, resultsCid: string | null): void {
  if (verdict.message.dealId !== dealId) violation('WRONG_DEAL', 'a verdict on another deal')
  if (!includesAddress(deal.mediators, verdict.message.author)) violation('WRONG_PARTY', 'not by a mediator of the deal')
  if (verdict.message.resultsCid !== resultsCid) violation('INCONSISTENT', 'a verdict on other results')
}

/** The last moment the chain lets a judge take a deal's case: halfway through its mediate window. */
export function takeDeadline (deal: Deal): number {
  return deal.judgeDeadline + Math.floor((deal.mediateDeadline - deal.judgeDeadline) / 2)
}

/**
 * The mediators whose verdict a party put on chain, this verdict's author among them. One verdict a
 * mediator: one of the deal's mediators that was not drawn cannot keep a party busy with verdicts
 * the chain refuses, each signed anew.
 */
export function withVerdictFrom (putOnChain: readonly string[] | undefined, verdict: Verified<'MediationVerdict'>): string[] {
  const author = verdict.message.author
  if (putOnChain?.some(a => sameAddress(a, author)) === true) violation('DUPLICATE', 'a verdict of this mediator was put on chain already')
  return [...(putOnChain ?? []), author]
}

/** The prefix of the effect that puts a verdict a party received on chain. */
export const SETTLE_VERDICT = 'settle-verdict:'

/**
 * Puts a verdict on chain. The chain settles it only if its author is the judge it drew and took the
 * case; either way the effect answers with the outcome the chain holds once the deal settles, and a
 * verdict the chain refuses (another mediator's) comes back failed and changes nothing.
 */
export function settleVerdict (dealId: string, verdict: Verified<'MediationVerdict'>): MachineOutput {
  const outcome = verdict.message.providerAtFault ? 'MediationRejected' : 'MediationAccepted'
  return { type: 'chain.settle', id: `${SETTLE_VERDICT}${verdict.id}`, dealId, outcome, evidence: [dealId, verdict.id] }
}
