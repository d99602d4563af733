/**
 * How the simulator steps a role's machine. Every role's machine is a decider machine
 * (src/state-machines/decider.ts): an XState machine with one transition, whose every step is
 * `decideOrRefuse` of the decider it wraps, and whose first context and outputs are the decider's
 * `init` and `initialOutputs`.
 * - `decider` (the default) steps that decider directly: the same decisions, without XState's own
 *   work per transition, which was a sixth of a run's time.
 * - `xstate` steps the XState machine itself, as the nodes do.
 * Both give the same contexts and outputs step for step: a test runs every scenario both ways and
 * compares the tables they print.
 */
import type { Messages } from '../src/protocols/messages/signing.ts'
import { deciderMachine, decideOrRefuse } from '../src/state-machines/decider.ts'
import { createDeciders, start, step, type InputEvent, type MachineOutput } from '../src/state-machines/index.ts'

export type Engine = 'decider' | 'xstate'
export const ENGINES: readonly Engine[] = ['decider', 'xstate']

/** A machine's state after a step (an XState snapshot, or the decider's context), its context and its outputs. */
export interface Stepped {
  state: unknown
  context: object
  outputs: MachineOutput[]
}

export interface RoleStepper {
  start: (input: unknown) => Stepped
  step: (state: unknown, event: InputEvent) => Stepped
}

/** A role's stepper, its machine checking messages with the run's `messages`. */
export function stepperFor (role: string, engine: Engine, messages: Messages): RoleStepper {
  const decider = createDeciders(messages)[role]
  if (decider === undefined) throw new RangeError(`no machine for ${role}`)
  if (engine === 'xstate') {
    const machine = deciderMachine(role, decider)
    return {
      start: input => {
        const r = start(machine, input)
        return { state: r.snapshot, context: r.snapshot.context as object, outputs: r.outputs }
      },
      step: (state, event) => {
        const r = step(machine, state as never, event)
        return { state: r.snapshot, context: r.snapshot.context as object, outputs: r.outputs }
      }
    }
  }
  return {
    start: input => {
      const context = decider.init(input)
      return { state: context, context, outputs: decider.initialOutputs(context) }
    },
    step: (state, event) => {
      const decision = decideOrRefuse(decider, state as object, event)
      return { state: decision.context, context: decision.context, outputs: decision.outputs }
    }
  }
}
