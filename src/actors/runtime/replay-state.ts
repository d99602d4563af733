import { hash } from 'node:crypto'
import type { AnyMachineSnapshot } from 'xstate'
import type { Deadlines, Json, MachineOutput } from '../../state-machines/contract.ts'
import { TIMER_FIRED } from '../../state-machines/contract.ts'
import type { LogRecord } from '../eventlog/record.ts'
import { canonicalJson } from '../eventlog/canonical-json.ts'
import { ActorRecord, outputKey, type AckData, type InputData, type OpenData, type OutputData } from './records.ts'
import { deadlinesOf, persistState, restoreState, startMachine, stepMachine, type ActorDefinition, type Step } from './driver.ts'

export class ReplayMismatchError extends Error {
  override readonly name = 'ReplayMismatchError'
  readonly code = 'ERR_REPLAY_MISMATCH'
  constructor (readonly seq: number, message: string) {
    super(`record ${seq}: ${message}`)
  }
}

/**
 * One stream's machine state. A stream restored from a snapshot keeps its persisted form until
 * something needs the machine snapshot: most streams of a long log are finished deals that a
 * restart never touches, so restoring them lazily keeps restarts short.
 */
export class StreamState {
  private resolved: AnyMachineSnapshot | undefined
  private persisted: Json | undefined

  constructor (readonly machine: string, private readonly definition: ActorDefinition, from: { snapshot: AnyMachineSnapshot } | { persisted: Json }) {
    if ('snapshot' in from) this.resolved = from.snapshot
    else this.persisted = from.persisted
  }

  get snapshot (): AnyMachineSnapshot {
    if (this.resolved === undefined) {
      this.resolved = restoreState(this.definition, this.persisted!)
      this.persisted = undefined
    }
    return this.resolved
  }

  set snapshot (snapshot: AnyMachineSnapshot) {
    this.resolved = snapshot
    this.persisted = undefined
  }

  get deadlines (): Deadlines {
    if (this.resolved !== undefined) return deadlinesOf(this.resolved)
    return ((this.persisted as { context?: { deadlines?: Deadlines } } | null)?.context?.deadlines) ?? {}
  }

  persist (): Json {
    return this.resolved === undefined ? this.persisted! : persistState(this.definition, this.resolved)
  }
}

export interface PendingOutput {
  stream: string
  output: MachineOutput
  seq: number
}

const SNAPSHOT_FORMAT = 2

/**
 * The state a log folds into: every stream's machine state, the outputs not yet acknowledged and
 * the timers that already fired. Applying a record recomputes the machine step it implies and
 * checks the recorded outputs against the recomputed ones, so the same fold serves restart and audit.
 */
export class ReplayState {
  readonly streams = new Map<string, StreamState>()
  readonly pending = new Map<string, PendingOutput>()
  readonly fired = new Set<string>()
  seq = 0
  hash = ''
  private expected: Array<{ stream: string, output: MachineOutput }> = []

  constructor (private readonly definitions: Record<string, ActorDefinition>) {}

  definition (machine: string): ActorDefinition | undefined {
    return Object.hasOwn(this.definitions, machine) ? this.definitions[machine] : undefined
  }

  /**
   * Folds one record. `step` may carry the already computed machine step of a live append, which
   * spares recomputing it.
   */
  apply (record: LogRecord, step?: Step): void {
    switch (record.type) {
      case ActorRecord.open: {
        this.expectNoOutputs(record.seq)
        const { stream, machine, input } = record.data as OpenData
        if (this.streams.has(stream)) throw new ReplayMismatchError(record.seq, `stream ${stream} opened twice`)
        const definition = this.definition(machine)
        if (definition === undefined) throw new ReplayMismatchError(record.seq, `unknown machine ${machine}`)
        const result = step ?? startMachine(definition, input)
        this.streams.set(stream, new StreamState(machine, definition, { snapshot: result.snapshot }))
        this.expect(stream, result.outputs)
        break
      }
      case ActorRecord.input: {
        this.expectNoOutputs(record.seq)
        const { stream, event } = record.data as InputData
        const state = this.streams.get(stream)
        if (state === undefined) throw new ReplayMismatchError(record.seq, `input for unknown stream ${stream}`)
        const definition = this.definition(state.machine)
        if (definition === undefined) throw new ReplayMismatchError(record.seq, `unknown machine ${state.machine}`)
        if (event.type === TIMER_FIRED) this.fired.add(firedKey(stream, String(event.timer), Number(event.deadline)))
        const result = step ?? stepMachine(definition, state.snapshot, event)
        state.snapshot = result.snapshot
        this.expect(stream, result.outputs)
        break
      }
      case ActorRecord.output: {
        const { stream, output } = record.data as OutputData
        const next = this.expected.shift()
        if (next === undefined) throw new ReplayMismatchError(record.seq, `output ${output.id} was not produced by replay`)
        if (next.stream !== stream || (next.output !== output && canonicalJson(next.output) !== canonicalJson(output))) {
          throw new ReplayMismatchError(record.seq, `recorded output ${output.id} differs from the replayed ${next.output.id}`)
        }
        this.pending.set(outputKey(stream, output.id), { stream, output, seq: record.seq })
        break
      }
      case ActorRecord.ack: {
        this.expectNoOutputs(record.seq)
        const { stream, id } = record.data as AckData
        if (!this.pending.delete(outputKey(stream, id))) {
          throw new ReplayMismatchError(record.seq, `acknowledges ${id}, which is not pending`)
        }
        break
      }
      default:
        break
    }
    this.seq = record.seq
    this.hash = record.hash
  }

  /** Call after the last record: every recomputed output must have been recorded. */
  finish (): void {
    this.expectNoOutputs(this.seq + 1)
  }

  hasFired (stream: string, timer: string, deadline: number): boolean {
    return this.fired.has(firedKey(stream, timer, deadline))
  }

  /**
   * A snapshot: a header line (format, position in the log, machine versions, checksum of the
   * body), then the body. Snapshots are not in the log's hash chain; the checksum catches one that
   * was damaged on disk, and the log position one that belongs to another history.
   */
  toSnapshot (): string {
    const streams: Array<[string, string, Json]> = []
    for (const [name, state] of this.streams) {
      streams.push([name, state.machine, state.persist()])
    }
    const versions: Record<string, number> = {}
    for (const [name, definition] of Object.entries(this.definitions)) versions[name] = definition.version
    const body = JSON.stringify({ streams, pending: [...this.pending.values()], fired: [...this.fired] })
    const header = { format: SNAPSHOT_FORMAT, seq: this.seq, hash: this.hash, versions, checksum: hash('sha256', body, 'hex') }
    return `${JSON.stringify(header)}\n${body}`
  }

  /** The record a snapshot was taken at, as its header names it; undefined when it has no header. */
  static snapshotPosition (text: string): { seq: number, hash: string } | undefined {
    try {
      const header = JSON.parse(text.slice(0, text.indexOf('\n'))) as { seq?: unknown, hash?: unknown } | null
      return Number.isSafeInteger(header?.seq) && typeof header?.hash === 'string' ? { seq: header.seq as number, hash: header.hash } : undefined
    } catch {
      return undefined
    }
  }

  /** Restores from a snapshot; returns undefined when it does not match these definitions. */
  static fromSnapshot (definitions: Record<string, ActorDefinition>, text: string): ReplayState | undefined {
    const newline = text.indexOf('\n')
    let header: { format: number, seq: number, hash: string, versions: Record<string, number>, checksum: string }
    let body: { streams: Array<[string, string, Json]>, pending: PendingOutput[], fired: string[] }
    try {
      header = JSON.parse(text.slice(0, newline))
      if (header?.format !== SNAPSHOT_FORMAT || hash('sha256', text.slice(newline + 1), 'hex') !== header.checksum) return undefined
      body = JSON.parse(text.slice(newline + 1))
    } catch {
      return undefined
    }
    const state = new ReplayState(definitions)
    for (const [machine, version] of Object.entries(header.versions ?? {})) {
      if (state.definition(machine)?.version !== version) return undefined
    }
    for (const [stream, machine, persisted] of body.streams) {
      const definition = state.definition(machine)
      if (definition === undefined || persisted === null || typeof persisted !== 'object') return undefined
      state.streams.set(stream, new StreamState(machine, definition, { persisted }))
    }
    for (const pending of body.pending) state.pending.set(outputKey(pending.stream, pending.output.id), pending)
    for (const key of body.fired) state.fired.add(key)
    state.seq = header.seq
    state.hash = header.hash
    return state
  }

  private expect (stream: string, outputs: MachineOutput[]): void {
    for (const output of outputs) this.expected.push({ stream, output })
  }

  private expectNoOutputs (seq: number): void {
    const missing = this.expected[0]
    if (missing !== undefined) {
      throw new ReplayMismatchError(seq, `replay produced output ${missing.output.id} of ${missing.stream}, which was not recorded`)
    }
  }
}

function firedKey (stream: string, timer: string, deadline: number): string {
  return `${stream}\u0000${timer}\u0000${deadline}`
}
