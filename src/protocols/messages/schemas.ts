/** One schema per message type: every field bounded, unknown fields rejected. */
import { z } from 'zod'
import type { MessageType } from './eip712-types.ts'
import { address, addressList, boundedString, bytes32, cid, DIGITS, int32, LIMITS, millis, uint256, uint32, wei } from './fields.ts'

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

export const ResourceOfferSchema = z.strictObject({
  ...common,
  slot: uint32,
  ...machine,
  modules: z.array(z.string().min(1).max(LIMITS.moduleRepo)).max(LIMITS.modules),
  price: wei,
  resultsCollateral: wei,
  timeoutCollateral: wei,
  trustedMediators: addressList(LIMITS.trusted).min(1),
  trustedSolvers: addressList(LIMITS.trusted).min(1),
  multiaddrs: z.array(z.string().min(1).max(LIMITS.multiaddr)).max(LIMITS.multiaddrs)
})

export const JobOfferSchema = z.strictObject({
  ...common,
  moduleRepo: z.string().min(1).max(LIMITS.moduleRepo),
  moduleCommit: z.string().regex(/^[0-9a-f]{7,64}$/, 'expected a commit hash'),
  modulePath: boundedString(LIMITS.modulePath),
  specHash: bytes32,
  inputs: boundedString(LIMITS.inputs),
  ...machine,
  maxPrice: wei,
  maxSolverFee: wei,
  paymentCollateral: wei,
  timeoutCollateral: wei,
  trustedMediators: addressList(LIMITS.trusted).min(1),
  trustedSolvers: addressList(LIMITS.trusted).min(1),
  matchDeadline: millis,
  agreeWithin: millis,
  submitWithin: millis,
  judgeWithin: millis,
  mediateWithin: millis
}).refine(o => covers(o.paymentCollateral, o.maxPrice, o.maxSolverFee),
  { message: 'paymentCollateral must cover maxPrice + maxSolverFee', path: ['paymentCollateral'] })
  .refine(o => Math.max(o.agreeWithin, o.submitWithin, o.judgeWithin, o.mediateWithin) <= LIMITS.maxWindowMs,
    { message: `each window may be at most ${LIMITS.maxWindowMs / 3600_000} hours`, path: ['judgeWithin'] })

export const MatchProposalSchema = z.strictObject({
  ...common,
  jobOfferId: bytes32,
  resourceOfferId: bytes32,
  jobCreator: address,
  resourceProvider: address,
  price: wei,
  solverFee: wei,
  mediatorFee: wei,
  mediators: addressList(LIMITS.mediators).min(1)
})

export const DealSchema = z.strictObject({
  jobCreator: address,
  resourceProvider: address,
  solver: address,
  nonce: uint256,
  expiry: millis,
  jobOfferId: bytes32,
  resourceOfferId: bytes32,
  matchProposalId: bytes32,
  specHash: bytes32,
  mediators: addressList(LIMITS.mediators).min(1),
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
}).superRefine((d, ctx) => {
  for (const [path, message] of dealProblems(d)) ctx.addIssue({ code: 'custom', path: [path], message })
})

interface DealTerms {
  jobCreator: string
  resourceProvider: string
  mediators: string[]
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
  if (!covers(d.paymentCollateral, d.price, d.solverFee, d.mediatorFee)) problems.push(['paymentCollateral', 'must cover price + solverFee + mediatorFee'])
  if (!covers(d.timeoutCollateral, d.mediatorFee)) problems.push(['timeoutCollateral', 'must cover mediatorFee'])
  if (d.expiry !== d.agreeDeadline) problems.push(['expiry', 'must equal agreeDeadline'])
  if (!(d.agreeDeadline <= d.submitDeadline && d.submitDeadline <= d.judgeDeadline && d.judgeDeadline <= d.mediateDeadline)) {
    problems.push(['submitDeadline', 'deadlines must be ordered agree <= submit <= judge <= mediate'])
  }
  if (d.mediateDeadline - d.agreeDeadline > LIMITS.maxDealLifetimeMs) problems.push(['mediateDeadline', `a deal may last at most ${LIMITS.maxDealLifetimeMs / 3600_000} hours after its agree deadline`])
  return problems
}

export const ResultsSubmittedSchema = z.strictObject({
  ...common,
  dealId: bytes32,
  resultsCid: cid,
  exitCode: int32,
  cpuMs: millis,
  durationMs: millis
})

export const ResultsAcceptedSchema = z.strictObject({ ...common, dealId: bytes32, resultsCid: cid })

export const ResultsChallengedSchema = z.strictObject({ ...common, dealId: bytes32, resultsCid: cid, mediator: address })

export const MediationVerdictSchema = z.strictObject({
  ...common,
  dealId: bytes32,
  resultsCid: cid,
  mediatorCid: z.union([cid, z.literal('')]),
  providerAtFault: z.boolean()
})

export const MediatorAnnouncementSchema = z.strictObject({
  ...common,
  fee: wei,
  capacity: uint32,
  multiaddrs: z.array(z.string().min(1).max(LIMITS.multiaddr)).max(LIMITS.multiaddrs)
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
