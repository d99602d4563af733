import type { AnyMachineSnapshot } from 'xstate'
import type { Json, MachineOutput } from '../../state-machines/contract.ts'
import { TIMER_FIRED } from '../../state-machines/contract.ts'
import type { LogRecord } from '../eventlog/record.ts'
import { canonicalJson } from '../eventlog/canonical-json.ts'
import { ActorRecord, outputKey, type AckData, type InputData, type OpenData, type OutputData } from './records.ts'
import { persistState, restoreState, startMachine, stepMachine, type ActorDefinition, type Step } from './driver.ts'

export class ReplayMismatchError extends Error {
  override readonly name = 'ReplayMismatchError'
  readonly code = 'ERR_REPLAY_MISMATCH'
  constructor (readonly seq: number, message: string) {
    super(`record ${seq}: ${message}`)
  }
}

export interface StreamState {
  machine: string
  snapshot: AnyMachineSnapshot
}

export interface PendingOutput {
  stream: string
  output: MachineOutput
  seq: number
}

const SNAPSHOT_FORMAT = 1

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
        this.streams.set(stream, { machine, snapshot: result.snapshot })
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

  toSnapshot (): string {
    const streams: Array<[string, string, Json]> = []
    for (const [name, state] of this.streams) {
      streams.push([name, state.machine, persistState(this.definition(state.machine)!, state.snapshot)])
    }
    const versions: Record<string, number> = {}
    for (const [name, definition] of Object.entries(this.definitions)) versions[name] = definition.version
    return JSON.stringify({
      format: SNAPSHOT_FORMAT,
      seq: this.seq,
      hash: this.hash,
      versions,
      streams,
      pending: [...this.pending.values()],
      fired: [...this.fired]
    })
  }

  /** Restores from a snapshot; returns undefined when it does not match these definitions. */
  static fromSnapshot (definitions: Record<string, ActorDefinition>, text: string): ReplayState | undefined {
    let parsed: {
      format: number, seq: number, hash: string, versions: Record<string, number>,
      streams: Array<[string, string, Json]>, pending: PendingOutput[], fired: string[]
    }
    try {
      parsed = JSON.parse(text)
    } catch {
      return undefined
    }
    if (parsed?.format !== SNAPSHOT_FORMAT) return undefined
    const state = new ReplayState(definitions)
    for (const [machine, version] of Object.entries(parsed.versions ?? {})) {
      if (state.definition(machine)?.version !== version) return undefined
    }
    try {
      for (const [stream, machine, persisted] of parsed.streams) {
        const definition = state.definition(machine)
        if (definition === undefined) return undefined
        state.streams.set(stream, { machine, snapshot: restoreState(definition, persisted) })
      }
    } catch {
      return undefined
    }
    for (const pending of parsed.pending) state.pending.set(outputKey(pending.stream, pending.output.id), pending)
    for (const key of parsed.fired) state.fired.add(key)
    state.seq = parsed.seq
    state.hash = parsed.hash
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
