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
import { deciderOf, decideOrRefuse } from '../src/state-machines/decider.ts'
import { machines, start, step, type InputEvent, type MachineOutput } from '../src/state-machines/index.ts'

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

export function stepperFor (role: string, engine: Engine): RoleStepper {
  const registered = machines[role]
  if (registered === undefined) throw new RangeError(`no machine for ${role}`)
  const machine = registered.machine
  if (engine === 'xstate') {
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
  const decider = deciderOf(machine)
  if (decider === undefined) throw new RangeError(`the ${role} machine is not a decider machine: run it with the xstate engine`)
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
