import type { ActorRuntime } from '../../actors/runtime/actor-runtime.ts'
import type { JobCreatorContext, JobCreatorPhase } from '../../state-machines/job-creator.machine.ts'
import type { MediatorContext } from '../../state-machines/mediator.machine.ts'
import type { ResourceProviderContext } from '../../state-machines/resource-provider.machine.ts'
import { lockedBy } from '../../state-machines/settle.ts'
import { machineOf } from '../activity/deal-activity.ts'
import type { DealBook } from './metric-sources.ts'

/** The job creator's phases in which its deal is agreed and has no outcome yet: what it locked is at stake. */
const CREATOR_LOCKED: ReadonlySet<JobCreatorPhase> = new Set<JobCreatorPhase>(['awaitingResults', 'fetching', 'verifying', 'challenged'])

/** The deals of a node's machines, read from their contexts in the runtime. */
export function runtimeDealBook (runtime: Pick<ActorRuntime, 'streams' | 'snapshot'>): DealBook {
  return {
    termsOf (stream, dealId) {
      const context = runtime.snapshot(stream)?.context as unknown
      if (context === undefined) return undefined
      switch (machineOf(stream)) {
        case 'job-creator': {
          const c = context as JobCreatorContext
          return c.dealId === dealId ? c.deal ?? undefined : undefined
        }
        case 'resource-provider': {
          const c = context as ResourceProviderContext
          // a deal that just ended is mostly the last of the ended ones (they are kept in mediate deadline order)
          return (c.deals[dealId] ?? c.endedDeals.findLast(d => d.dealId === dealId))?.deal
        }
        case 'mediator':
          return (context as MediatorContext).mediations[dealId]?.deal
        default:
          return undefined
      }
    },
    lockedCollateral () {
      let creator = 0n
      let provider = 0n
      for (const stream of runtime.streams()) {
        const machine = machineOf(stream)
        if (machine === 'job-creator') {
          const c = runtime.snapshot(stream)?.context as JobCreatorContext | undefined
          if (c?.deal != null && CREATOR_LOCKED.has(c.phase)) creator += lockedBy(c.deal).jobCreator
        } else if (machine === 'resource-provider') {
          const c = runtime.snapshot(stream)?.context as ResourceProviderContext | undefined
          // a Matched record is not co-signed yet: nothing is bound
          for (const record of Object.values(c?.deals ?? {})) if (record.state !== 'Matched') provider += lockedBy(record.deal).resourceProvider
        }
      }
      return [{ role: 'job-creator', wei: creator }, { role: 'resource-provider', wei: provider }]
    }
  }
}
