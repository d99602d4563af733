import type { ActorRuntime } from '../../actors/runtime/actor-runtime.ts'
import { RoleStream } from '../../actors/roles/router.ts'
import type { Deal } from '../../protocols/messages/schemas.ts'
import type { DeadlineName } from '../../state-machines/deal-states.ts'
import type { JobCreatorContext } from '../../state-machines/job-creator.machine.ts'
import type { MediatorContext } from '../../state-machines/mediator.machine.ts'
import type { ResourceProviderContext } from '../../state-machines/resource-provider.machine.ts'
import type { DealStatus } from './deal-status.ts'
import type { ApiContext } from './routes.ts'

/** A deal as the dashboard lists it: where it stands, what it is worth, and by when it must move on. */
export interface DealRow extends DealStatus {
  /** wei as decimal strings, from the deal's terms; absent before a deal is signed */
  price?: string
  solverFee?: string
  mediatorFee?: string
  /** the other party: the provider to a job creator, the job creator to the others */
  counterparty?: string
  /** ms since 1970, by deadline name: the job offer's match deadline, then the deal's */
  deadlines: Partial<Record<DeadlineName, number>>
}

/** The deals this node's machines hold now, with their terms. */
export function dealRows ({ node, activity }: ApiContext): DealRow[] {
  return activity.current().map(status => dealRow(node.host.runtime, status))
}

/** The stream that holds a deal status: a job's own stream, or the role's one stream. */
export function streamOfStatus (status: DealStatus): string {
  return status.role === 'job-creator' ? RoleStream.job(status.jobOfferId) : status.role
}

/** A deal status with the terms its machine holds for it. */
export function dealRow (runtime: ActorRuntime, status: DealStatus, stream = streamOfStatus(status)): DealRow {
  const context = runtime.snapshot(stream)?.context as unknown
  const row: DealRow = { ...status, deadlines: {} }
  if (context === undefined) return row
  if (status.role === 'job-creator') {
    const c = context as JobCreatorContext
    row.deadlines.matchDeadline = c.job.matchDeadline
    if (c.deal !== null && c.dealId === status.dealId) withTerms(row, c.deal, c.deal.resourceProvider)
    return row
  }
  if (status.dealId === null) return row
  const deal = status.role === 'resource-provider'
    ? providerDeal(context as ResourceProviderContext, status.dealId)
    : status.role === 'mediator' ? (context as MediatorContext).mediations[status.dealId]?.deal : undefined
  if (deal !== undefined) withTerms(row, deal, deal.jobCreator)
  return row
}

function providerDeal (c: ResourceProviderContext, dealId: string): Deal | undefined {
  return c.deals[dealId]?.deal ?? c.endedDeals.find(d => d.dealId === dealId)?.deal
}

function withTerms (row: DealRow, deal: Deal, counterparty: string): void {
  row.price = deal.price
  row.solverFee = deal.solverFee
  row.mediatorFee = deal.mediatorFee
  row.counterparty = counterparty
  row.deadlines.agreeDeadline = deal.agreeDeadline
  row.deadlines.submitDeadline = deal.submitDeadline
  row.deadlines.judgeDeadline = deal.judgeDeadline
  row.deadlines.mediateDeadline = deal.mediateDeadline
}
