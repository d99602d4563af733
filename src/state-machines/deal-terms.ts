/** The deal both parties sign, derived from the two offers and the proposal, so both build the same one. */
import { isMessageError } from '../protocols/messages/errors.ts'
import { nodeMessages, type Messages } from '../protocols/messages/signing.ts'
import type { Deal, JobOffer, MatchProposal, ResourceOffer } from '../protocols/messages/schemas.ts'
import type { Verified } from '../protocols/messages/envelope.ts'
import { includesAddress, sameAddress, toDomain, type DomainJson } from './common.ts'
import { mismatchReason, type MatchableJob, type MatchableOffer } from './matcher.ts'
import { violation } from './rejection.ts'

export function jobForMatching (id: string, job: JobOffer, receivedAt: number): MatchableJob {
  return {
    id,
    cpu: job.cpu,
    gpu: job.gpu,
    gpuVramMb: job.gpuVramMb,
    ramMb: job.ramMb,
    diskMb: job.diskMb,
    submitWithin: job.submitWithin,
    moduleRepo: job.moduleRepo,
    maxPrice: BigInt(job.maxPrice),
    trustedMediators: job.trustedMediators,
    quorum: job.quorum,
    trustedSolvers: job.trustedSolvers,
    receivedAt
  }
}

export function offerForMatching (id: string, offer: ResourceOffer, receivedAt: number): MatchableOffer {
  return {
    id,
    cpu: offer.cpu,
    gpu: offer.gpu,
    gpuVramMb: offer.gpuVramMb,
    ramMb: offer.ramMb,
    diskMb: offer.diskMb,
    maxSubmitWithin: offer.maxSubmitWithin,
    modules: offer.modules,
    price: BigInt(offer.price),
    trustedMediators: offer.trustedMediators,
    trustedSolvers: offer.trustedSolvers,
    receivedAt
  }
}

/** Checks a proposal against both offers; throws ProtocolViolation. */
export function checkProposal (job: Verified<'JobOffer'>, offer: Verified<'ResourceOffer'>, proposal: Verified<'MatchProposal'>): void {
  const p = proposal.message
  if (p.jobOfferId !== job.id || p.resourceOfferId !== offer.id) violation('WRONG_DEAL', 'the proposal names other offers')
  if (!sameAddress(p.jobCreator, job.message.author) || !sameAddress(p.resourceProvider, offer.message.author)) {
    violation('INCONSISTENT', 'the proposal names other parties')
  }
  const reason = mismatchReason(jobForMatching(job.id, job.message, 0), offerForMatching(offer.id, offer.message, 0), p.author)
  if (reason === 'solver') violation('UNTRUSTED', `solver ${p.author} is not trusted by both parties`)
  if (reason !== null) violation('INCONSISTENT', `the offers do not match (${reason})`)
  if (BigInt(p.price) < BigInt(offer.message.price) || BigInt(p.price) > BigInt(job.message.maxPrice)) {
    violation('INCONSISTENT', 'the price is outside the offers\' terms')
  }
  if (BigInt(p.solverFee) > BigInt(job.message.maxSolverFee)) violation('INCONSISTENT', 'the solver fee exceeds the job\'s limit')
  for (const m of p.mediators) {
    if (!includesAddress(job.message.trustedMediators, m) || !includesAddress(offer.message.trustedMediators, m)) {
      violation('UNTRUSTED', `mediator ${m} is not trusted by both parties`)
    }
  }
}

/** The deal terms: deadlines follow from the proposal's expiry and the job's durations. */
export function buildDeal (job: Verified<'JobOffer'>, offer: Verified<'ResourceOffer'>, proposal: Verified<'MatchProposal'>, messages: Messages = nodeMessages): Deal {
  try {
    return messages.parse('Deal', dealTerms(job, offer, proposal))
  } catch (err) {
    if (!isMessageError(err)) throw err
    const issues = err.details?.issues as Array<{ message: string }> | undefined
    return violation('INCONSISTENT', `the deal these terms make is invalid: ${issues?.[0]?.message ?? ''}`)
  }
}

/**
 * Throws unless `received` is exactly the deal these offers and this proposal make. Their terms are
 * copied from checked messages, so they are already in normal form: a received deal (checked too)
 * equal to them field by field is that deal, and they need not be parsed again.
 */
export function expectDealOf (
  job: Verified<'JobOffer'>, offer: Verified<'ResourceOffer'>, proposal: Verified<'MatchProposal'>, received: Deal, messages: Messages = nodeMessages
): void {
  if (sameFields(dealTerms(job, offer, proposal), received)) return
  expectSameDeal(buildDeal(job, offer, proposal, messages), received)
}

/** The deal's fields in the schema's order, as copied from the messages (not yet checked together). */
export function dealTerms (job: Verified<'JobOffer'>, offer: Verified<'ResourceOffer'>, proposal: Verified<'MatchProposal'>): Deal {
  const j = job.message
  const p: MatchProposal = proposal.message
  const agreeDeadline = p.expiry
  const submitDeadline = agreeDeadline + j.submitWithin
  const judgeDeadline = submitDeadline + j.judgeWithin
  return {
    jobCreator: j.author,
    resourceProvider: offer.message.author,
    solver: p.author,
    nonce: p.nonce,
    expiry: agreeDeadline,
    jobOfferId: job.id,
    resourceOfferId: offer.id,
    matchProposalId: proposal.id,
    specHash: j.specHash,
    mediators: p.mediators,
    quorum: j.quorum,
    price: p.price,
    solverFee: p.solverFee,
    mediatorFee: p.mediatorFee,
    paymentCollateral: j.paymentCollateral,
    jobCreatorTimeoutCollateral: j.timeoutCollateral,
    resultsCollateral: offer.message.resultsCollateral,
    timeoutCollateral: offer.message.timeoutCollateral,
    agreeDeadline,
    submitDeadline,
    judgeDeadline,
    mediateDeadline: judgeDeadline + j.mediateWithin
  }
}

export function dealId (domain: DomainJson, deal: Deal, messages: Messages = nodeMessages): string {
  return messages.id(toDomain(domain), 'Deal', deal)
}

/** Throws unless `received` is exactly the deal these offers and this proposal make. */
export function expectSameDeal (expected: Deal, received: Deal): void {
  if (expected === received || sameFields(expected, received)) return
  const a = JSON.stringify(expected)
  const b = JSON.stringify(received)
  if (a !== b) violation('INCONSISTENT', 'the deal differs from the terms of the offers and proposal')
}


/** The same keys in the same order, each with the same atom or list of atoms: then their JSON texts are the same too. */
function sameFields (a: object, b: object): boolean {
  const keys = Object.keys(a)
  const others = Object.keys(b)
  if (keys.length !== others.length) return false
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    if (key !== others[i]) return false
    const x = (a as Record<string, unknown>)[key]
    const y = (b as Record<string, unknown>)[key]
    if (x === y) continue
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false
  }
  return true
}
