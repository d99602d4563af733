import type { EventLog, GenesisData } from './eventlog/event-log.ts'
import { RecordType } from './eventlog/event-log.ts'
import type { LogRecord } from './eventlog/record.ts'
import { checkpointSigner, type CheckpointData } from './eventlog/checkpoint.ts'
import { ReplayState } from './runtime/replay-state.ts'
import type { ActorDefinition } from './runtime/driver.ts'
import { ActorRecord } from './runtime/records.ts'

export interface AuditFailure {
  seq: number
  code: string
  reason: string
}

export interface StreamSummary {
  stream: string
  machine: string
  state: unknown
  records: number
}

export interface AuditReport {
  ok: boolean
  records: number
  node: string | null
  checkpoints: number
  /** inputs and outputs recomputed by replay and found equal to the recorded ones */
  replayed: { inputs: number, outputs: number }
  streams: StreamSummary[]
  failure?: AuditFailure
  /** the records of the streams asked for, when any */
  history?: LogRecord[]
}

/** What the replay knows of a record of a stream, handed to an observer of the audit. */
export interface ObservedStep {
  /** the stream's machine */
  machine: string
  /** the stream's machine context before an input record was applied (undefined for other records) */
  before: unknown
  /** the stream's machine context once the record was applied */
  after: unknown
}

export interface AuditOptions {
  /** collect the records of streams for which this returns true */
  historyOf?: (stream: string) => boolean
  /**
   * Called with every record once it was checked and applied, in log order: with the contexts of
   * its stream's machine for a record of a stream. What follows a failure is not observed.
   */
  observe?: (record: LogRecord, step: ObservedStep | undefined) => void
}

/**
 * Checks a log from its first record: every hash and link, every checkpoint signature (by the key
 * named in the genesis record), and that replaying each input into its machine reproduces exactly
 * the outputs recorded after it. Stops at the first bad record.
 */
export async function auditLog (log: EventLog, definitions: Record<string, ActorDefinition>, options: AuditOptions = {}): Promise<AuditReport> {
  const state = new ReplayState(definitions)
  const report: AuditReport = { ok: true, records: 0, node: null, checkpoints: 0, replayed: { inputs: 0, outputs: 0 }, streams: [] }
  const counts = new Map<string, number>()
  const history: LogRecord[] = []
  const observe = options.observe
  let previous: LogRecord | undefined
  try {
    for await (const record of log.read(1)) {
      checkRecord(record, previous, report)
      const stream = streamOf(record)
      const before = observe !== undefined && stream !== undefined && record.type === ActorRecord.input ? state.streams.get(stream)?.snapshot.context : undefined
      state.apply(record)
      if (observe !== undefined) {
        const after = stream === undefined ? undefined : state.streams.get(stream)
        observe(record, after === undefined ? undefined : { machine: after.machine, before, after: after.snapshot.context })
      }
      if (stream !== undefined) {
        counts.set(stream, (counts.get(stream) ?? 0) + 1)
        if (options.historyOf?.(stream) === true) history.push(record)
      }
      if (record.type === ActorRecord.input || record.type === ActorRecord.open) report.replayed.inputs++
      if (record.type === ActorRecord.output) report.replayed.outputs++
      report.records++
      previous = record
    }
    state.finish()
    await checkSnapshots(log, previous)
  } catch (err) {
    const e = err as { seq?: number, code?: string, message: string }
    report.ok = false
    report.failure = {
      seq: e.seq ?? (previous?.seq ?? 0) + 1,
      code: e.code ?? 'ERR_AUDIT',
      reason: e.message.replace(/^record \d+: /, '')
    }
  }
  for (const [stream, { machine, snapshot }] of state.streams) {
    report.streams.push({ stream, machine, state: snapshot.value, records: counts.get(stream) ?? 0 })
  }
  if (options.historyOf !== undefined) report.history = history
  return report
}

class AuditError extends Error {
  constructor (readonly code: string, readonly seq: number, message: string) {
    super(message)
  }
}

function checkRecord (record: LogRecord, previous: LogRecord | undefined, report: AuditReport): void {
  if (record.seq === 1) {
    if (record.type !== RecordType.genesis) throw new AuditError('ERR_LOG_GENESIS', 1, 'the first record is not the genesis record')
    report.node = (record.data as GenesisData).node
    return
  }
  if (record.type === RecordType.genesis) throw new AuditError('ERR_LOG_GENESIS', record.seq, 'a second genesis record')
  if (record.type !== RecordType.checkpoint) return
  const checkpoint = record.data as CheckpointData
  if (previous === undefined || checkpoint.seq !== previous.seq || checkpoint.hash !== previous.hash) {
    throw new AuditError('ERR_LOG_CHECKPOINT', record.seq, 'checkpoint does not cover the record before it')
  }
  const signer = checkpointSigner(checkpoint)
  if (report.node === null || signer === undefined || signer.toLowerCase() !== report.node.toLowerCase()) {
    throw new AuditError('ERR_LOG_CHECKPOINT', record.seq, `checkpoint is not signed by the node ${report.node ?? '(none named)'}`)
  }
  report.checkpoints++
}

/**
 * The snapshots kept beside the log were taken of its records: one taken at a record the log no
 * longer holds, or holds otherwise, shows the log was cut short or rewritten after it was taken.
 */
async function checkSnapshots (log: EventLog, last: LogRecord | undefined): Promise<void> {
  for await (const { seq, value } of log.snapshots.newestFirst()) {
    const at = ReplayState.snapshotPosition(value)
    if (at === undefined) continue
    if (at.seq > (last?.seq ?? 0)) {
      throw new AuditError('ERR_LOG_SNAPSHOT', at.seq, `a snapshot of the machines taken at record ${at.seq} is kept beside the log, which ends at record ${last?.seq ?? 0}: the log was cut short`)
    }
    const record = await log.get(at.seq)
    if (record?.hash !== at.hash) throw new AuditError('ERR_LOG_SNAPSHOT', at.seq, `a snapshot of the machines kept beside the log (key ${seq}) was taken at a record ${at.seq} that hashed otherwise: the log was rewritten after it`)
  }
}

function streamOf (record: LogRecord): string | undefined {
  const data = record.data as { stream?: unknown } | null
  return typeof data?.stream === 'string' ? data.stream : undefined
}
