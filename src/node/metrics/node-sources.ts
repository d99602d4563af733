import type { EventLog } from '../../actors/eventlog/event-log.ts'
import type { RoleHost } from '../../actors/roles/role-host.ts'
import type { MeshNode } from '../../protocols/mesh/mesh-node.ts'
import type { DealActivity } from '../activity/deal-activity.ts'
import { runtimeDealBook } from './deal-book.ts'
import type { MetricSources } from './metric-sources.ts'
import type { ModuleRunner } from '../adapters/module-runner.ts'

/** What a running node's metrics read: its machines' activity and contexts, its mesh and its log. */
export function nodeSources (activity: DealActivity, { mesh, log, host, runner }: { mesh: MeshNode, log: EventLog, host: RoleHost, runner?: ModuleRunner }): MetricSources {
  return {
    activity,
    deals: runtimeDealBook(host.runtime),
    node: {
      peers: () => mesh.libp2p.getPeers().length,
      logRecords: () => log.length,
      pendingEffects: () => host.runtime.pendingOutputs().length,
      untakenMessages: () => host.untaken,
      validation: () => mesh.validationCounters(),
      runsAhead: () => runner?.runsAhead
    }
  }
}
