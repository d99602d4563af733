/** One schema per message type: every field bounded, unknown fields rejected. */
import { z } from 'zod'
import type { MessageType } from './eip712-types.ts'
import { address, addressList, boundedString, bytes32, cid, cidOrEmpty, DIGITS, flag, int32, LIMITS, list, matching, millis, quorum, text, windowMillis, uint256, uint32, wei } from './fields.ts'
import { refinedPath, strictObjectPath, withFastPath } from './fast-parse.ts'

/** A message schema: exactly these fields, with the fast path their own fast paths make. */
function message<S extends z.ZodRawShape> (shape: S): z.ZodObject<S, z.core.$strict> {
  return withFastPath(z.strictObject(shape), strictObjectPath(shape))
}

const common = { author: address, nonce: uint256, expiry: millis }

/**
 * Whether an amount covers the sum of others. These rules run even when a field failed its own
 * check; an amount that is not a decimal string is that field's error, so the rule passes on it
 * (rather than throw while converting it).
 */
function covers (total: string, ...parts: string[]): boolean {
  if (!DIGITS.test(total) || !parts.every(p => DIGITS.test(p))) return true
  return BigInt(total) >= parts.reduce((sum, p) => sum + BigInt(p), 0n)
}

const machine = {
  cpu: uint32,
  gpu: uint32,
  gpuVramMb: uint32,
  ramMb: uint32,
  diskMb: uint32
}

export const ResourceOfferSchema = message({
  ...common,
  slot: uint32,
  ...machine,
  maxSubmitWithin: windowMillis,
  modules: list(text(1, LIMITS.moduleRepo), LIMITS.modules),
  price: wei,
  resultsCollateral: wei,
  timeoutCollateral: wei,
  trustedMediators: addressList(LIMITS.trusted, 1),
  trustedSolvers: addressList(LIMITS.trusted, 1),
  multiaddrs: list(text(1, LIMITS.multiaddr), LIMITS.multiaddrs)
})

const jobOfferShape = {
  ...common,
  moduleRepo: text(1, LIMITS.moduleRepo),
  moduleCommit: matching(/^[0-9a-f]{7,64}$/, 'expected a commit hash'),
  modulePath: boundedString(LIMITS.modulePath),
  specHash: bytes32,
  inputs: boundedString(LIMITS.inputs),
  image: matching(/^(?:[a-z0-9][a-z0-9._/:-]{0,254}@sha256:[0-9a-f]{64})?$/, 'expected "" or an image name@sha256:<digest>'),
  inputsCid: matching(/^(?:Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{58,120})?$/, 'expected "" or a CID'),
  urlPins: boundedString(LIMITS.inputs),
  ...machine,
  maxPrice: wei,
  maxSolverFee: wei,
  paymentCollateral: wei,
  timeoutCollateral: wei,
  trustedMediators: addressList(LIMITS.trusted, 1),
  /** the verdicts a challenge of its deal needs (see Deal.quorum) */
  quorum,
  trustedSolvers: addressList(LIMITS.trusted, 1),
  matchDeadline: millis,
  agreeWithin: millis,
  submitWithin: millis,
  judgeWithin: millis,
  mediateWithin: millis
}
type JobOfferFields = z.output<z.ZodObject<typeof jobOfferShape>>
const collateralCovers = (o: JobOfferFields): boolean => covers(o.paymentCollateral, o.maxPrice, o.maxSolverFee)
const windowsBounded = (o: JobOfferFields): boolean => Math.max(o.agreeWithin, o.submitWithin, o.judgeWithin, o.mediateWithin) <= LIMITS.maxWindowMs

export const JobOfferSchema = withFastPath(
  z.strictObject(jobOfferShape)
    .refine(collateralCovers, { message: 'paymentCollateral must cover maxPrice + maxSolverFee', path: ['paymentCollateral'] })
    .refine(windowsBounded, { message: `each window may be at most ${LIMITS.maxWindowMs / 3600_000} hours`, path: ['judgeWithin'] }),
  refinedPath(strictObjectPath(jobOfferShape), (o: JobOfferFields) => collateralCovers(o) && windowsBounded(o))
)

export const MatchProposalSchema = message({
  ...common,
  jobOfferId: bytes32,
  resourceOfferId: bytes32,
  jobCreator: address,
  resourceProvider: address,
  price: wei,
  solverFee: wei,
  mediatorFee: wei,
  mediators: addressList(LIMITS.mediators, 1)
})

const dealShape = {
  jobCreator: address,
  resourceProvider: address,
  solver: address,
  nonce: uint256,
  expiry: millis,
  jobOfferId: bytes32,
  resourceOfferId: bytes32,
  matchProposalId: bytes32,
  specHash: bytes32,
  mediators: addressList(LIMITS.mediators, 1),
  quorum,
  price: wei,
  solverFee: wei,
  mediatorFee: wei,
  paymentCollateral: wei,
  jobCreatorTimeoutCollateral: wei,
  resultsCollateral: wei,
  timeoutCollateral: wei,
  agreeDeadline: millis,
  submitDeadline: millis,
  judgeDeadline: millis,
  mediateDeadline: millis
}

export const DealSchema = withFastPath(
  z.strictObject(dealShape).superRefine((d, ctx) => {
    for (const [path, message] of dealProblems(d)) ctx.addIssue({ code: 'custom', path: [path], message })
  }),
  refinedPath(strictObjectPath(dealShape), (d: DealTerms) => dealProblems(d).length === 0)
)

interface DealTerms {
  jobCreator: string
  resourceProvider: string
  mediators: string[]
  quorum: number
  price: string
  solverFee: string
  mediatorFee: string
  paymentCollateral: string
  timeoutCollateral: string
  expiry: number
  agreeDeadline: number
  submitDeadline: number
  judgeDeadline: number
  mediateDeadline: number
}

/** The rules a deal's fields must keep together, as [field, message] pairs (every deal is checked: no closure per call). */
function dealProblems (d: DealTerms): Array<[string, string]> {
  const problems: Array<[string, string]> = []
  if (d.jobCreator === d.resourceProvider) problems.push(['resourceProvider', 'the two parties must differ'])
  if (d.mediators.includes(d.jobCreator) || d.mediators.includes(d.resourceProvider)) problems.push(['mediators', 'a party cannot mediate its own deal'])
  if (d.mediators.some((m, i) => d.mediators.indexOf(m) !== i)) problems.push(['mediators', 'duplicate mediator'])
  if (d.quorum > d.mediators.length) problems.push(['quorum', 'a quorum cannot exceed the deal\'s mediators'])
  if (!covers(d.paymentCollateral, d.price, d.solverFee, d.mediatorFee)) problems.push(['paymentCollateral', 'must cover price + solverFee + mediatorFee'])
  if (!covers(d.timeoutCollateral, d.mediatorFee)) problems.push(['timeoutCollateral', 'must cover mediatorFee'])
  if (d.expiry !== d.agreeDeadline) problems.push(['expiry', 'must equal agreeDeadline'])
  if (!(d.agreeDeadline <= d.submitDeadline && d.submitDeadline <= d.judgeDeadline && d.judgeDeadline <= d.mediateDeadline)) {
    problems.push(['submitDeadline', 'deadlines must be ordered agree <= submit <= judge <= mediate'])
  }
  if (d.mediateDeadline - d.agreeDeadline > LIMITS.maxDealLifetimeMs) problems.push(['mediateDeadline', `a deal may last at most ${LIMITS.maxDealLifetimeMs / 3600_000} hours after its agree deadline`])
  return problems
}

export const ResultsSubmittedSchema = message({
  ...common,
  dealId: bytes32,
  resultsCid: cid,
  exitCode: int32,
  cpuMs: millis,
  durationMs: millis
})

export const ResultsAcceptedSchema = message({ ...common, dealId: bytes32, resultsCid: cid })

export const ResultsChallengedSchema = message({ ...common, dealId: bytes32, resultsCid: cid })

export const MediationVerdictSchema = message({
  ...common,
  dealId: bytes32,
  resultsCid: cid,
  mediatorCid: cidOrEmpty,
  providerAtFault: flag
})

export const MediatorAnnouncementSchema = message({
  ...common,
  fee: wei,
  capacity: uint32,
  multiaddrs: list(text(1, LIMITS.multiaddr), LIMITS.multiaddrs)
})

export const MESSAGE_SCHEMAS = {
  ResourceOffer: ResourceOfferSchema,
  JobOffer: JobOfferSchema,
  MatchProposal: MatchProposalSchema,
  Deal: DealSchema,
  ResultsSubmitted: ResultsSubmittedSchema,
  ResultsAccepted: ResultsAcceptedSchema,
  ResultsChallenged: ResultsChallengedSchema,
  MediationVerdict: MediationVerdictSchema,
  MediatorAnnouncement: MediatorAnnouncementSchema
} as const satisfies Record<MessageType, z.ZodType>

export type ResourceOffer = z.output<typeof ResourceOfferSchema>
export type JobOffer = z.output<typeof JobOfferSchema>
export type MatchProposal = z.output<typeof MatchProposalSchema>
export type Deal = z.output<typeof DealSchema>
export type ResultsSubmitted = z.output<typeof ResultsSubmittedSchema>
export type ResultsAccepted = z.output<typeof ResultsAcceptedSchema>
export type ResultsChallenged = z.output<typeof ResultsChallengedSchema>
export type MediationVerdict = z.output<typeof MediationVerdictSchema>
export type MediatorAnnouncement = z.output<typeof MediatorAnnouncementSchema>

export interface MessagePayloads {
  ResourceOffer: ResourceOffer
  JobOffer: JobOffer
  MatchProposal: MatchProposal
  Deal: Deal
  ResultsSubmitted: ResultsSubmitted
  ResultsAccepted: ResultsAccepted
  ResultsChallenged: ResultsChallenged
  MediationVerdict: MediationVerdict
  MediatorAnnouncement: MediatorAnnouncement
}
