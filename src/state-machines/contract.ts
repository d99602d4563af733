/**
 * The contract between a pure machine and the actor runtime that drives it.
 *
 * - Every input event carries `at`: the time (ms since the epoch) at which the runtime logged it.
 *   Machines read time only from there.
 * - A machine's outputs are the events it `emit`s. Each has a `type` (the name of the effect handler
 *   that carries it out, e.g. `send.message`, `docker.run`, `chain.settle`) and an `id` that is
 *   deterministic and unique within the machine's stream: handlers are idempotent by that id.
 *   The result of an effect comes back as an input event carrying `effect: <output id>`.
 * - Deadlines live in `context.deadlines` (name → absolute ms). The runtime arms one timer per entry
 *   and, when one passes while still present, logs `{ type: 'timer.fired', timer: <name>, deadline, at }`
 *   (once per name and deadline value).
 */
import type { OutputType } from './io.ts'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

export interface MachineOutput {
  /** one of the vocabulary's output types (io.ts): each has its effect handler in every node */
  type: OutputType
  id: string
  [key: string]: Json | undefined
}

export interface InputEvent {
  type: string
  at: number
  /** set on an event that reports the result of an output (an effect) */
  effect?: string
  [key: string]: Json | undefined
}

export interface TimerFired extends InputEvent {
  type: 'timer.fired'
  timer: string
  deadline: number
}

export type Deadlines = Record<string, number>

export interface ContextWithDeadlines {
  deadlines?: Deadlines
}

export const TIMER_FIRED = 'timer.fired'
