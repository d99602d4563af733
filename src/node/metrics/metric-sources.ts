import type { Activity } from '../activity/deal-activity.ts'
import type { DealStatus } from '../server/deal-status.ts'
import type { Deal } from '../../protocols/messages/schemas.ts'
import type { ValidationCounter } from '../../protocols/mesh/validation-adapter.ts'
import type { RunsAheadCounts } from '../adapters/warm-runs.ts'

/** What the metrics follow of a node's machines: its DealActivity. */
export interface ActivitySource {
  subscribe (listener: (activity: Activity) => void): () => void
  current (): DealStatus[]
}

/** The terms of the deals a node's machines hold, read from their contexts. */
export interface DealBook {
  /** the terms of a deal that a machine of `stream` holds, under way or ended, while it holds them */
  termsOf (stream: string, dealId: string): Deal | undefined
  /** wei this node has locked in deals under way (agreed, not yet at an outcome), by its role in them */
  lockedCollateral (): Array<{ role: DealStatus['role'], wei: bigint }>
}

/** What a node holds now, read at each scrape. */
export interface NodeReadings {
  peers (): number
  logRecords (): number
  pendingEffects (): number
  untakenMessages (): number
  validation (): ValidationCounter[]
  /** a provider's runs started ahead of their deals; none on other nodes */
  runsAhead (): RunsAheadCounts | undefined
}

export interface MetricSources {
  activity: ActivitySource
  deals: DealBook
  node: NodeReadings
}
