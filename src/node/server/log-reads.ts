import { describeInput, describeOutput, shortIds } from '../../actors/audit-deal.ts'
import { RecordType, type EventLog, type GenesisData } from '../../actors/eventlog/event-log.ts'
import type { LogRecord } from '../../actors/eventlog/record.ts'
import { ActorRecord, type AckData, type InputData, type OpenData, type OutputData } from '../../actors/runtime/records.ts'

/** A log record in a line: what the dashboard shows of it. */
export interface CompactRecord {
  seq: number
  /** ms since 1970, when it was appended */
  at: number
  type: string
  /** the machine instance it belongs to; null for the log's own records */
  stream: string | null
  /** what it says, in a few words, ids shortened */
  what: string
}

/** a deal's history past this many records is cut: the page shows the start of it and says so */
export const MAX_HISTORY = 1000

export function compactRecord (record: LogRecord): CompactRecord {
  const data = record.data as Record<string, unknown>
  const stream = typeof data.stream === 'string' ? data.stream : null
  return { seq: record.seq, at: record.at, type: record.type, stream, what: shortIds(describe(record)) }
}

function describe (record: LogRecord): string {
  switch (record.type) {
    case RecordType.genesis: return `the log begins (node ${(record.data as GenesisData).node ?? 'unsigned'})`
    case RecordType.checkpoint: return 'signed checkpoint of the head'
    case ActorRecord.open: return `opens ${(record.data as OpenData).machine}`
    case ActorRecord.input: return describeInput((record.data as InputData).event)
    case ActorRecord.output: return describeOutput((record.data as OutputData).output)
    case ActorRecord.ack: {
      const { id, error } = record.data as AckData
      return error === undefined ? `done: ${id}` : `failed for good: ${id}: ${error}`
    }
    default: return record.type
  }
}

/** The last `n` records of the log, oldest first. */
export async function logTail (log: EventLog, n: number): Promise<CompactRecord[]> {
  const out: CompactRecord[] = []
  if (n < 1) return out
  for await (const record of log.read(Math.max(1, log.length - n + 1))) out.push(compactRecord(record))
  return out
}

/**
 * The records of the log whose data name any of `ids` (a deal id, its job offer id): the deal's
 * history as this node's log holds it. A Deal message names its deal by its hash, not its id: the
 * job offer's id brings in the signing of it. Reads the whole log, once per call.
 */
export async function recordsNaming (log: EventLog, ids: string[]): Promise<{ records: CompactRecord[], truncated: boolean }> {
  const wanted = ids.map(id => id.toLowerCase())
  const records: CompactRecord[] = []
  for await (const record of log.read(1)) {
    const text = JSON.stringify(record.data).toLowerCase()
    if (!wanted.some(id => text.includes(id))) continue
    if (records.length === MAX_HISTORY) return { records, truncated: true }
    records.push(compactRecord(record))
  }
  return { records, truncated: false }
}
