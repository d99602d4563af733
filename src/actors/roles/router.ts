import type { Deal, MatchProposal } from '../../protocols/messages/schemas.ts'
import type { Envelope } from '../../protocols/messages/envelope.ts'
import { MESSAGE_RECEIVED } from '../../state-machines/common.ts'
import type { Delivery } from './transport.ts'

/** The streams a node's role actors run under. */
export const RoleStream = {
  resourceProvider: 'resource-provider',
  solver: 'solver',
  mediator: 'mediator',
  /** one job-creator stream per job, named by its job offer id */
  job: (jobOfferId: string) => `job:${jobOfferId}`
} as const

export interface RouteContext {
  self: string
  has: (stream: string) => boolean
  /** the job stream that holds a deal, if this node created it */
  jobOfDeal: (dealId: string) => string | undefined
}

function same (a: unknown, b: string): boolean {
  return typeof a === 'string' && a.toLowerCase() === b.toLowerCase()
}

/**
 * Which of this node's streams a message concerns. The machines check every message themselves;
 * routing only spares them messages that cannot be theirs, and gives each party one copy of what
 * is both sent to it and gossiped (a co-signed deal, a verdict).
 */
export function routeDelivery (delivery: Delivery, ctx: RouteContext): string[] {
  const { envelope } = delivery
  const m = envelope.message as unknown as Record<string, unknown>
  const streams: string[] = []
  const add = (stream: string | undefined): void => {
    if (stream !== undefined && ctx.has(stream) && !streams.includes(stream)) streams.push(stream)
  }
  const rp = RoleStream.resourceProvider
  const direct = delivery.topic === undefined
  switch (envelope.type) {
    case 'ResourceOffer':
    case 'JobOffer':
      add(RoleStream.solver)
      break
    case 'MatchProposal': {
      const proposal = m as unknown as MatchProposal
      if (same(proposal.jobCreator, ctx.self)) add(RoleStream.job(proposal.jobOfferId))
      if (same(proposal.resourceProvider, ctx.self)) add(rp)
      break
    }
    case 'Deal': {
      const deal = m as unknown as Deal
      if (direct && same(deal.jobCreator, ctx.self) && envelope.signatures.length === 2) add(RoleStream.job(deal.jobOfferId))
      if (direct && same(deal.resourceProvider, ctx.self) && envelope.signatures.length === 1) add(rp)
      // agreed deals are gossiped so that solvers drop the offers they took
      if (!direct && envelope.signatures.length === 2) add(RoleStream.solver)
      break
    }
    case 'ResultsSubmitted':
      add(ctx.jobOfDeal(String(m.dealId)))
      break
    case 'ResultsAccepted':
      add(rp)
      break
    case 'ResultsChallenged': {
      add(rp)
      // every mediator of the deal is told; the chain's draw says which one judges
      const deal = delivery.attachments.find(a => a.type === 'Deal')?.message as Deal | undefined
      if (deal?.mediators.some(mediator => same(mediator, ctx.self)) === true) add(RoleStream.mediator)
      break
    }
    case 'MediationVerdict':
      // the parties take the verdict sent to them; its gossiped copy is for everyone else
      if (direct) {
        add(ctx.jobOfDeal(String(m.dealId)))
        add(rp)
      }
      break
    default:
      break
  }
  return streams
}

/** The input event a delivery becomes. */
export function messageEvent (delivery: Delivery): { type: typeof MESSAGE_RECEIVED, envelope: Envelope, attachments: Envelope[], head?: Delivery['head'] } {
  // the sender's signed log head goes into the log with the message: proof of how long its log was
  return { type: MESSAGE_RECEIVED, envelope: delivery.envelope, attachments: delivery.attachments, ...(delivery.head === undefined ? {} : { head: delivery.head }) }
}
