import type { JobCreatorContext, JobCreatorPhase } from '../../state-machines/job-creator.machine.ts'
import type { ResourceProviderContext } from '../../state-machines/resource-provider.machine.ts'
import type { SolverContext } from '../../state-machines/solver.machine.ts'
import type { MediatorContext } from '../../state-machines/mediator.machine.ts'
import type { DealState } from '../../state-machines/deal-states.ts'
import type { JobOffer, MatchProposal } from '../../protocols/messages/schemas.ts'

/** Where one deal (or job offer, before there is a deal) stands in one of this node's role machines. */
export interface DealStatus {
  role: 'job-creator' | 'resource-provider' | 'solver' | 'mediator'
  jobOfferId: string
  dealId: string | null
  state: DealState
  resultsCid: string | null
}

export interface RoleSnapshot {
  stream: string
  machine: string
  context: unknown
}

const JOB_CREATOR_STATE: Record<Exclude<JobCreatorPhase, 'done'>, DealState> = {
  offering: 'JobOffered',
  agreeing: 'Matched',
  awaitingResults: 'Agreed',
  fetching: 'ResultsSubmitted',
  verifying: 'ResultsSubmitted',
  challenged: 'Mediating'
}

/**
 * The deal states a node's machines hold, in the vocabulary of the deal lifecycle: what a job
 * creator's phase, a provider's deal record, a solver's order book entry or a mediator's mediation
 * means for the deal. `now` tells a solver's held entries (a proposal out: Matched) from waiting ones.
 */
export function dealStatuses (snapshots: RoleSnapshot[], now: number): DealStatus[] {
  const out: DealStatus[] = []
  for (const { machine, context } of snapshots) {
    switch (machine) {
      case 'job-creator': {
        const c = context as JobCreatorContext
        const state = c.phase === 'done' ? c.outcome ?? 'JobOffered' : JOB_CREATOR_STATE[c.phase]
        out.push({ role: 'job-creator', jobOfferId: c.jobOfferId, dealId: c.dealId, state, resultsCid: c.resultsCid })
        break
      }
      case 'resource-provider': {
        const c = context as ResourceProviderContext
        for (const [dealId, record] of [...c.endedDeals.map(r => [r.dealId, r] as const), ...Object.entries(c.deals)]) {
          out.push({ role: 'resource-provider', jobOfferId: record.deal.jobOfferId, dealId, state: record.state, resultsCid: record.resultsCid })
        }
        for (const pending of Object.values(c.proposals)) {
          const proposal = (pending.proposal as { message?: MatchProposal } | undefined)?.message
          if (proposal !== undefined) out.push({ role: 'resource-provider', jobOfferId: proposal.jobOfferId, dealId: null, state: 'Matched', resultsCid: null })
        }
        break
      }
      case 'solver': {
        const c = context as SolverContext
        for (const entry of c.jobs) {
          const job = entry.envelope.message as JobOffer
          if (job.matchDeadline < now) continue
          out.push({ role: 'solver', jobOfferId: entry.id, dealId: null, state: entry.heldUntil >= now ? 'Matched' : 'JobOffered', resultsCid: null })
        }
        break
      }
      case 'mediator': {
        const c = context as MediatorContext
        for (const [dealId, m] of Object.entries(c.mediations)) {
          const state: DealState = m.state === 'running'
            ? 'Mediating'
            : m.state === 'missed' ? 'TimeoutMediate' : m.providerAtFault === true ? 'MediationRejected' : 'MediationAccepted'
          out.push({ role: 'mediator', jobOfferId: m.deal.jobOfferId, dealId, state, resultsCid: m.resultsCid })
        }
        break
      }
      default:
        break
    }
  }
  return out
}
