import type { AnyMachineSnapshot } from 'xstate'
import type { InputEvent, Json, MachineOutput } from '../../state-machines/contract.ts'
import { TIMER_FIRED } from '../../state-machines/contract.ts'
import type { OutputType } from '../../state-machines/io.ts'
import type { AppendEntry, EventLog, SideWrite } from '../eventlog/event-log.ts'
import type { LogRecord } from '../eventlog/record.ts'
import { canonicalJson } from '../eventlog/canonical-json.ts'
import { startMachine, stepMachine, type ActorDefinition, type Step } from './driver.ts'
import { ActorRecord, outputKey, type AckData, type InputData, type OpenData, type OutputData } from './records.ts'
import { ReplayState } from './replay-state.ts'
import { systemClock, type Clock } from './clock.ts'
import { INPUT_REJECTED } from '../../state-machines/rejection.ts'
import type { Service } from '../../support/lifecycle.ts'

/** An input as a caller gives it: the runtime stamps `at`. */
export type NewInput = Omit<InputEvent, 'at'> & { at?: number }

export interface EffectContext {
  stream: string
  /** aborted when the runtime stops; the effect will be resumed on the next start */
  signal: AbortSignal
}

/**
 * Carries out one kind of output. Must be idempotent by `output.id` within a stream: after a crash
 * it is called again for every output that was not acknowledged. Its result events go back to the
 * stream's machine, each with `effect: output.id`, in the same atomic batch as the acknowledgement.
 */
export type EffectHandler = (output: MachineOutput, context: EffectContext) => Promise<void | NewInput | NewInput[]>

/** Handlers for some of the machines' output types: a node's full set must name every one (io.ts). */
export type EffectHandlers<K extends OutputType> = Record<K, EffectHandler>

export interface ActorRuntimeOptions {
  /** write a snapshot of every stream after this many records (0: never) */
  snapshotEvery?: number
  /**
   * Whether the log checkpoints its head, signed, right after a step with these outputs: at the
   * steps that bind the node to others, a log cut or rewritten without the key fails on its own.
   */
  checkpointAfter?: (outputs: readonly MachineOutput[]) => boolean
}

export interface ActorRuntimeModules {
  log: EventLog
  definitions: Record<string, ActorDefinition>
  effects?: Record<string, EffectHandler>
  clock?: Clock
  /**
   * What the log keeps beside a step's outputs, written in the same atomic batch (a node's own
   * messages, signed): an output that names a message a sibling output sends finds it stored.
   */
  beside?: (outputs: readonly MachineOutput[]) => Promise<SideWrite[]>
  /** errors no caller can receive (an effect batch that failed to append) */
  onError?: (err: Error) => void
}

export interface Change {
  stream: string
  snapshot: AnyMachineSnapshot
  records: LogRecord[]
}

/** A value as it comes back from the log: canonical JSON, keys sorted, undefined members gone. */
function asLogged<T> (value: T): T {
  return JSON.parse(canonicalJson(value ?? null)) as T
}

/** A step that changes nothing: same state, no output but a refusal (an input that is not the machine's business has none). */
function changesNothing (before: AnyMachineSnapshot, step: Step): boolean {
  return step.outputs.every(o => o.type === INPUT_REJECTED) &&
    step.snapshot.context === before.context && step.snapshot.status === before.status &&
    JSON.stringify(step.snapshot.value) === JSON.stringify(before.value)
}

/** An input offered after `stop()`: not taken, and not logged; the next start takes what comes then. */
export class RuntimeStoppedError extends Error {
  override readonly name = 'RuntimeStoppedError'
  constructor () {
    super('actor runtime is stopped')
  }
}

export class UnknownStreamError extends Error {
  override readonly name = 'UnknownStreamError'
  readonly code = 'ERR_UNKNOWN_STREAM'
}

export interface StartReport {
  /** seq the replay started after (0: from the beginning) */
  fromSnapshot: number
  replayed: number
  resumed: number
}

/**
 * Drives pure machines from the event log. Every input is appended together with the outputs it
 * causes before any of them is carried out; restart replays the log with no effects, re-arms the
 * timers found in machine state and resumes the outputs that were never acknowledged.
 */
export class ActorRuntime implements Service {
  private queue: Promise<unknown> = Promise.resolve()
  private readonly timers = new Map<string, { deadline: number, cancel: () => void }>()
  private readonly inflight = new Map<string, AbortController>()
  /** who waits in idle() for an effect in flight to end */
  private readonly effectWaiters = new Set<() => void>()
  private readonly listeners = new Set<(change: Change) => void>()
  private readonly clock: Clock
  private lastSnapshotSeq: number
  private stopped = false
  readonly startReport: StartReport

  private constructor (
    private readonly state: ReplayState,
    private readonly options: Required<Omit<ActorRuntimeOptions, 'checkpointAfter'>> & Pick<ActorRuntimeOptions, 'checkpointAfter'>,
    private readonly modules: ActorRuntimeModules,
    report: StartReport
  ) {
    this.clock = modules.clock ?? systemClock
    this.lastSnapshotSeq = report.fromSnapshot
    this.startReport = report
  }

  /** Rebuilds state from the log (newest matching snapshot, then the tail), then resumes. */
  static async start (options: ActorRuntimeOptions, modules: ActorRuntimeModules): Promise<ActorRuntime> {
    const { log, definitions } = modules
    const head = log.head()
    let state: ReplayState | undefined
    for await (const { seq, value } of log.snapshots.newestFirst()) {
      if (seq > head.seq) continue
      const candidate = ReplayState.fromSnapshot(definitions, value)
      if (candidate === undefined || candidate.seq !== seq) continue
      const record = await log.get(seq).catch(() => undefined)
      if (record?.hash === candidate.hash) {
        state = candidate
        break
      }
    }
    const fromSnapshot = state?.seq ?? 0
    state ??= new ReplayState(definitions)
    let replayed = 0
    for await (const record of log.read(state.seq + 1)) {
      state.apply(record)
      replayed++
    }
    state.finish()
    const runtime = new ActorRuntime(state, { snapshotEvery: options.snapshotEvery ?? 10_000, checkpointAfter: options.checkpointAfter }, modules,
      { fromSnapshot, replayed, resumed: state.pending.size })
    for (const stream of state.streams.keys()) runtime.syncTimers(stream)
    for (const pending of [...state.pending.values()]) runtime.dispatch(pending.stream, pending.output)
    return runtime
  }

  /** Starts a new stream running `machine`. */
  spawn (stream: string, machine: string, input: Json = null): Promise<Change> {
    return this.enqueue(async () => {
      if (this.state.streams.has(stream)) throw new Error(`stream ${stream} already exists`)
      const definition = this.state.definition(machine)
      if (definition === undefined) throw new Error(`unknown machine ${machine}`)
      const logged = asLogged(input)
      const step = startMachine(definition, logged)
      const data: OpenData = { stream, machine, input: logged }
      return await this.commit(stream, [{ type: ActorRecord.open, data }], [step])
    })
  }

  /** Logs an input for a stream, applies it, and starts the outputs it causes. */
  send (stream: string, input: NewInput): Promise<Change> {
    return this.enqueue(() => this.applyInputs(stream, [input]))
  }

  /**
   * As `send`, for an input from another party: one that changes nothing (refused, or none of the
   * machine's business) is not logged (replay would not miss it); a refusal is reported to its handler. Anyone can send a
   * node inputs it refuses; they must not grow its log. The change has no records then. `beside`
   * is written with the input when it is logged, in the same atomic batch (the messages it carries).
   */
  offer (stream: string, input: NewInput, beside: SideWrite[] = []): Promise<Change> {
    return this.enqueue(() => this.applyInputs(stream, [input], undefined, { unloggedIfRefused: true, beside }))
  }

  snapshot (stream: string): AnyMachineSnapshot | undefined {
    return this.state.streams.get(stream)?.snapshot
  }

  streams (): string[] {
    return [...this.state.streams.keys()]
  }

  pendingOutputs (): Array<{ stream: string, output: MachineOutput }> {
    return [...this.state.pending.values()].map(({ stream, output }) => ({ stream, output }))
  }

  subscribe (listener: (change: Change) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Waits until every queued input has been logged and applied, those queued meanwhile too. */
  async settled (): Promise<void> {
    for (let queued = this.queue; ; queued = this.queue) {
      await queued
      if (queued === this.queue) return
    }
  }

  /**
   * Waits until the runtime has nothing left to do by itself: no input queued and no effect in
   * flight, every effect's result fed back. Timers still armed do not count: they wait on time. An
   * effect that never ends keeps it waiting.
   */
  async idle (): Promise<void> {
    for (;;) {
      await this.settled()
      if (this.inflight.size === 0) return
      await new Promise<void>(resolve => { this.effectWaiters.add(resolve) })
    }
  }

  private effectEnded (key: string): void {
    this.inflight.delete(key)
    for (const wake of this.effectWaiters) wake()
    this.effectWaiters.clear()
  }

  /**
   * Stops timers and aborts running effects (they resume on the next start), then snapshots the
   * state so the next start is quick; the log stays open.
   */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    for (const { cancel } of this.timers.values()) cancel()
    this.timers.clear()
    for (const controller of this.inflight.values()) controller.abort()
    await this.queue
    if (this.options.snapshotEvery > 0 && this.state.seq - this.lastSnapshotSeq > 0) await this.writeSnapshot()
  }

  /** An effect's result or a timer that came as the runtime stopped is dropped: the log resumes it on the next start. */
  private report (err: Error): void {
    if (err instanceof RuntimeStoppedError) return
    this.modules.onError?.(err)
  }

  private enqueue<T> (job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.stopped) throw new RuntimeStoppedError()
      return job()
    })
    this.queue = run.catch(() => undefined)
    return run
  }

  private async applyInputs (stream: string, inputs: NewInput[], ack?: AckData, offered?: { unloggedIfRefused: boolean, beside: SideWrite[] }): Promise<Change> {
    const current = this.state.streams.get(stream)
    if (current === undefined) throw new UnknownStreamError(`no stream ${stream}`)
    const definition = this.state.definition(current.machine)!
    const entries: AppendEntry[] = []
    const steps: Step[] = []
    if (ack !== undefined) entries.push({ type: ActorRecord.ack, data: ack })
    let snapshot = current.snapshot
    for (const input of inputs) {
      // the machine sees the event exactly as replay will read it back from the log
      const event = asLogged({ ...input, at: input.at ?? this.clock.now() }) as InputEvent
      const step = stepMachine(definition, snapshot, event)
      const data: InputData = { stream, event }
      entries.push({ type: ActorRecord.input, data })
      steps.push(step)
      snapshot = step.snapshot
    }
    if (offered?.unloggedIfRefused === true && steps.length === 1 && changesNothing(current.snapshot, steps[0]!)) {
      this.reportRefusals(stream, steps[0]!.outputs)
      return { stream, snapshot: current.snapshot, records: [] }
    }
    return await this.commit(stream, entries, steps, offered?.beside)
  }

  private reportRefusals (stream: string, outputs: MachineOutput[]): void {
    const handler = this.modules.effects?.[INPUT_REJECTED]
    if (handler === undefined) return
    const signal = new AbortController().signal
    for (const output of outputs) handler(output, { stream, signal }).catch((err: Error) => { this.report(err) })
  }

  /**
   * Appends the entries followed by each step's outputs, folds them into state, then carries the
   * outputs out. Entries that open or feed the machine take their step from `steps`, in order.
   */
  private async commit (stream: string, entries: AppendEntry[], steps: Step[], inputBeside: SideWrite[] = []): Promise<Change> {
    const batch: AppendEntry[] = []
    const stepOf = new Map<number, Step>()
    const outputs: MachineOutput[] = []
    let nextStep = 0
    for (const entry of entries) {
      batch.push(entry)
      if (entry.type === ActorRecord.open || entry.type === ActorRecord.input) {
        const step = steps[nextStep++]!
        stepOf.set(batch.length - 1, step)
        for (const output of step.outputs) {
          const data: OutputData = { stream, output }
          batch.push({ type: ActorRecord.output, data })
          outputs.push(output)
        }
      }
    }
    const beside = [...inputBeside, ...(outputs.length > 0 && this.modules.beside !== undefined ? await this.modules.beside(outputs) : [])]
    const checkpoint = outputs.length > 0 && this.options.checkpointAfter?.(outputs) === true
    const records = await this.modules.log.append(batch, beside, { checkpoint })
    const fresh: MachineOutput[] = []
    let index = 0
    for (const record of records) {
      if (record.type === 'checkpoint') {
        this.state.apply(record)
        continue
      }
      this.state.apply(record, stepOf.get(index))
      if (record.type === ActorRecord.output) fresh.push((record.data as OutputData).output)
      index++
    }
    this.syncTimers(stream)
    await this.maybeSnapshot()
    const change: Change = { stream, snapshot: this.state.streams.get(stream)!.snapshot, records }
    for (const listener of this.listeners) listener(change)
    for (const output of fresh) this.dispatch(stream, output)
    return change
  }

  private async maybeSnapshot (): Promise<void> {
    const every = this.options.snapshotEvery
    if (every <= 0 || this.state.seq - this.lastSnapshotSeq < every) return
    await this.writeSnapshot()
  }

  /** Writes a snapshot of every stream at the current head, so the next start replays only what follows. */
  async writeSnapshot (): Promise<void> {
    if (this.state.seq === this.lastSnapshotSeq) return
    this.lastSnapshotSeq = this.state.seq
    await this.modules.log.snapshots.put(this.state.seq, this.state.toSnapshot())
  }

  private dispatch (stream: string, output: MachineOutput): void {
    if (this.stopped) return
    const key = outputKey(stream, output.id)
    if (this.inflight.has(key)) return
    const controller = new AbortController()
    this.inflight.set(key, controller)
    const handler = this.modules.effects?.[output.type]
    if (handler === undefined) {
      // Nothing to carry it out: acknowledge with the reason, and feed nothing back (a machine that
      // rejected the feedback would emit another unhandled output, and so on).
      this.complete(stream, output, key, [], `no effect handler for ${output.type}`).catch((err: Error) => { this.report(err) })
      return
    }
    handler(output, { stream, signal: controller.signal }).then(
      (result) => this.complete(stream, output, key, result === undefined ? [] : Array.isArray(result) ? result : [result]),
      (err: Error) => {
        if (controller.signal.aborted) {
          this.effectEnded(key)
          return
        }
        return this.complete(stream, output, key, [{ type: 'effect.failed', error: err.message }], err.message)
      }
    ).catch((err: Error) => { this.report(err) })
  }

  private complete (stream: string, output: MachineOutput, key: string, results: NewInput[], error?: string): Promise<unknown> {
    if (this.stopped) return Promise.resolve()
    return this.enqueue(async () => {
      try {
        await this.completed(stream, output, key, results, error)
      } finally {
        this.effectEnded(key)
      }
    })
  }

  private async completed (stream: string, output: MachineOutput, key: string, results: NewInput[], error?: string): Promise<void> {
    if (!this.state.pending.has(key)) return
    const ack: AckData = error === undefined ? { stream, id: output.id } : { stream, id: output.id, error }
    const inputs = results.map(result => ({ ...result, effect: output.id }))
    if (inputs.length === 0) {
      const records = await this.modules.log.append([{ type: ActorRecord.ack, data: ack }])
      for (const record of records) this.state.apply(record)
      // the machine's state is as it was; listeners still hear that the effect ended
      const snapshot = this.state.streams.get(stream)?.snapshot
      if (snapshot !== undefined) for (const listener of this.listeners) listener({ stream, snapshot, records })
      return
    }
    await this.applyInputs(stream, inputs, ack)
  }

  /** Arms one timer per deadline in the stream's state; disarms the ones that went away. */
  private syncTimers (stream: string): void {
    if (this.stopped) return
    const deadlines = this.state.streams.get(stream)?.deadlines ?? {}
    const prefix = `${stream}\u0000`
    for (const [key, timer] of this.timers) {
      if (!key.startsWith(prefix)) continue
      const name = key.slice(prefix.length)
      if (deadlines[name] !== timer.deadline) {
        timer.cancel()
        this.timers.delete(key)
      }
    }
    for (const [name, deadline] of Object.entries(deadlines)) {
      const key = prefix + name
      if (this.timers.has(key) || this.state.hasFired(stream, name, deadline)) continue
      const cancel = this.clock.schedule(deadline, () => {
        this.timers.delete(key)
        if (this.stopped) return
        this.enqueue(async () => {
          const still = this.state.streams.get(stream)
          if (still === undefined || still.deadlines[name] !== deadline || this.state.hasFired(stream, name, deadline)) return
          await this.applyInputs(stream, [{ type: TIMER_FIRED, timer: name, deadline }])
        }).catch((err: Error) => { this.report(err) })
      })
      this.timers.set(key, { deadline, cancel })
    }
  }
}
