import type { ActorRuntime } from '../../actors/runtime/actor-runtime.ts'
import { ActorRecord, type AckData, type OutputData } from '../../actors/runtime/records.ts'
import type { DealState } from '../../state-machines/deal-states.ts'
import { dealStatuses, type DealStatus } from '../server/deal-status.ts'

/** A deal (or a job offer, before it has a deal) moved from one state to another in one of this node's machines. */
export interface DealChange {
  kind: 'deal'
  role: DealStatus['role']
  stream: string
  jobOfferId: string
  dealId: string | null
  /** null: the node's machines did not hold it before */
  from: DealState | null
  to: DealState
  resultsCid: string | null
  at: number
}

/** An output of a machine began to be carried out (`effect.start`), or was (`effect.end`, with the error of one that failed for good). */
export interface EffectChange {
  kind: 'effect.start' | 'effect.end'
  stream: string
  /** the output's id, which names the deal it concerns (e.g. `run:<dealId>`) */
  id: string
  /** the output's type (`chain.settle`, `job.run`, ...); on an end, that of the output it ends */
  type: string
  dealId: string | null
  error?: string
  at: number
}

export type Activity = DealChange | EffectChange

type Listener = (activity: Activity) => void

/** The machines whose deals are followed change by change: those that are parties to deals. */
const FOLLOWED: ReadonlySet<string> = new Set(['job-creator', 'resource-provider', 'mediator'])

/** The machine that runs a stream: one job-creator stream per job (`job:<offer id>`), one stream per other role. */
export function machineOf (stream: string): string {
  return stream.startsWith('job:') ? 'job-creator' : stream
}

/**
 * What a node's machines do, as it happens: every deal state change and every effect's start and
 * end, told to listeners (logs, metrics, the dashboard). It reads the runtime's changes after they
 * are logged, so it sees exactly what the log holds.
 */
export class DealActivity {
  private readonly listeners = new Set<Listener>()
  /** per stream, the deal states its machine held after its last change, by deal (or job offer) */
  private readonly states = new Map<string, Map<string, DealStatus>>()
  /** outputs started and not yet ended: their type and deal, for the end's line */
  private readonly open = new Map<string, { type: string, dealId: string | null }>()
  private readonly unsubscribe: () => void

  constructor (private readonly runtime: ActorRuntime, private readonly now: () => number = Date.now) {
    for (const stream of runtime.streams()) this.states.set(stream, this.statesOf(stream))
    for (const { stream, output } of runtime.pendingOutputs()) this.open.set(`${stream}\u0000${output.id}`, { type: output.type, dealId: dealOf(output) })
    this.unsubscribe = runtime.subscribe((change) => {
      const at = this.now()
      for (const record of change.records) {
        if (record.type === ActorRecord.output) {
          const { stream, output } = record.data as OutputData
          const dealId = dealOf(output)
          this.open.set(`${stream}\u0000${output.id}`, { type: output.type, dealId })
          this.emit({ kind: 'effect.start', stream, id: output.id, type: output.type, dealId, at })
        } else if (record.type === ActorRecord.ack) {
          const { stream, id, error } = record.data as AckData
          const key = `${stream}\u0000${id}`
          const started = this.open.get(key)
          this.open.delete(key)
          this.emit({ kind: 'effect.end', stream, id, type: started?.type ?? 'unknown', dealId: started?.dealId ?? null, ...(error === undefined ? {} : { error }), at })
        }
      }
      this.diff(change.stream, at)
    })
  }

  /** Calls `listener` with everything that happens from now on; returns what stops it. */
  subscribe (listener: Listener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** The deal states every machine holds now. */
  current (): DealStatus[] {
    return [...this.states.values()].flatMap(m => [...m.values()])
  }

  stop (): void {
    this.unsubscribe()
    this.listeners.clear()
  }

  private diff (stream: string, at: number): void {
    const before = this.states.get(stream) ?? new Map<string, DealStatus>()
    const after = this.statesOf(stream)
    this.states.set(stream, after)
    for (const [key, status] of after) {
      const was = before.get(key)
      if (was !== undefined && was.state === status.state) continue
      this.emit({ kind: 'deal', role: status.role, stream, jobOfferId: status.jobOfferId, dealId: status.dealId, from: was?.state ?? null, to: status.state, resultsCid: status.resultsCid, at })
    }
  }

  private statesOf (stream: string): Map<string, DealStatus> {
    const snapshot = this.runtime.snapshot(stream)
    const out = new Map<string, DealStatus>()
    const machine = machineOf(stream)
    // a solver's book holds thousands of entries that change with time alone: it is read when asked (`/status`), not followed
    if (snapshot === undefined || !FOLLOWED.has(machine)) return out
    for (const status of dealStatuses([{ stream, machine, context: snapshot.context as unknown }], this.now())) {
      // a deal is known by its offer until it has an id: the first key a status has names it after
      out.set(`${status.role}:${status.jobOfferId}`, status)
    }
    return out
  }

  private emit (activity: Activity): void {
    for (const listener of this.listeners) listener(activity)
  }
}

/** The deal an output concerns: its `dealId`, or the id after the output id's prefix (`run:<dealId>`). */
function dealOf (output: { id: string, type?: string, dealId?: unknown }): string | null {
  if (typeof output.dealId === 'string') return output.dealId
  // a run ahead of a deal is named by its proposal (`warm:<proposal id>`): no deal yet
  if (output.type === 'job.warm') return null
  const match = /:(0x[0-9a-fA-F]{64})$/.exec(output.id)
  return match === null ? null : match[1]!
}
