/**
 * What the end-to-end tests read from the nodes' own logs: the audit of each log, the final
 * context of every stream it holds, the deals as the job creator and the provider recorded them,
 * and the slot bookings of a provider at every step of its history.
 */
import { join } from 'node:path'
import { EventLog } from '../../../src/actors/eventlog/event-log.ts'
import { auditLog, type AuditReport } from '../../../src/actors/audit.ts'
import { ReplayState } from '../../../src/actors/runtime/replay-state.ts'
import { ActorRecord, type OutputData } from '../../../src/actors/runtime/records.ts'
import type { LogRecord } from '../../../src/actors/eventlog/record.ts'
import { roleDefinitions } from '../../../src/cli/definitions.ts'
import type { Deal } from '../../../src/protocols/messages/schemas.ts'
import type { JobCreatorContext } from '../../../src/state-machines/job-creator.machine.ts'
import type { ResourceProviderContext } from '../../../src/state-machines/resource-provider.machine.ts'
import type { DealState } from '../../../src/state-machines/deal-states.ts'
import { copyLiveLog } from './live-log.ts'

export interface NodeLog {
  name: string
  report: AuditReport
  records: LogRecord[]
  /** each stream's machine context after the last record */
  contexts: Map<string, unknown>
  /** a slot booked by two unfinished deals at once, seen anywhere in the provider's history */
  slotClashes: string[]
}

/** A deal as one party recorded it. */
export interface DealView {
  dealId: string
  jobOfferId: string
  deal: Deal
  resultsCid: string | null
  outcome: DealState | null
}

const UNFINISHED: readonly DealState[] = ['Agreed', 'ResultsSubmitted', 'Mediating']

/** Audits a log folder (stopped node, or a copy) and folds it, checking slot bookings on the way. */
export async function readLog (name: string, logDir: string): Promise<NodeLog> {
  const log = await EventLog.open(logDir, { inspect: true })
  try {
    const report = await auditLog(log, roleDefinitions())
    const records: LogRecord[] = []
    const state = new ReplayState(roleDefinitions())
    const slotClashes: string[] = []
    for await (const record of log.read(1)) {
      records.push(record)
      state.apply(record)
      const provider = state.streams.get('resource-provider')?.snapshot.context as ResourceProviderContext | undefined
      if (provider !== undefined) slotClashes.push(...clashesIn(provider, record.seq))
    }
    const contexts = new Map<string, unknown>()
    for (const [stream, { snapshot }] of state.streams) contexts.set(stream, snapshot.context)
    return { name, report, records, contexts, slotClashes }
  } finally {
    await log.close()
  }
}

function clashesIn (c: ResourceProviderContext, seq: number): string[] {
  const bySlot = new Map<number, string[]>()
  for (const [dealId, record] of Object.entries(c.deals)) {
    if (!UNFINISHED.includes(record.state)) continue
    bySlot.set(record.slot, [...(bySlot.get(record.slot) ?? []), dealId])
  }
  return [...bySlot].filter(([, deals]) => deals.length > 1).map(([slot, deals]) => `record ${seq}: slot ${slot} holds ${deals.join(', ')}`)
}

/** Reads a running node's log through a copy of its folder. */
export async function readLiveLog (name: string, dataDir: string, scratch: string): Promise<NodeLog> {
  return await readLog(name, await copyLiveLog(dataDir, join(scratch, `${name}-${Date.now()}`)))
}

/** The deals of a job creator's log: one per job that reached agreement. */
export function creatorDeals (log: NodeLog): DealView[] {
  const deals: DealView[] = []
  for (const [stream, context] of log.contexts) {
    if (!stream.startsWith('job:')) continue
    const c = context as JobCreatorContext
    if (c.dealId === null || c.deal === null) continue
    deals.push({ dealId: c.dealId, jobOfferId: c.jobOfferId, deal: c.deal, resultsCid: c.resultsCid, outcome: c.outcome })
  }
  return deals
}

/** The deals of a resource provider's log, by deal id. */
export function providerDeals (log: NodeLog): Map<string, DealView> {
  const c = log.contexts.get('resource-provider') as ResourceProviderContext | undefined
  const deals = new Map<string, DealView>()
  // the deals that ended, then those under way
  for (const [dealId, record] of [...(c?.endedDeals ?? []).map(r => [r.dealId, r] as const), ...Object.entries(c?.deals ?? {})]) {
    deals.set(dealId, { dealId, jobOfferId: record.deal.jobOfferId, deal: record.deal, resultsCid: record.resultsCid, outcome: record.state })
  }
  return deals
}

/** The outputs a log recorded, by type (e.g. every MatchProposal a solver sent). */
export function outputsOf (log: NodeLog, type: string, messageType?: string): OutputData['output'][] {
  return log.records
    .filter(r => r.type === ActorRecord.output)
    .map(r => (r.data as OutputData).output)
    .filter(o => o.type === type && (messageType === undefined || o.messageType === messageType))
}
