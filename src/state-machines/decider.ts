/**
 * A machine for a role that tracks many deals at once: a machine without child states, whose context
 * is folded by a pure decider. `decide(context, event)` returns the next context and the outputs, or
 * throws a ProtocolViolation / MessageError, in which case nothing changes and the input is reported.
 * (A single child state added nothing but work: XState walks a machine's state nodes on every
 * transition, and a simulation of thousands of nodes takes millions of transitions.)
 */
import { enqueueActions, setup } from 'xstate'
import type { InputEvent, MachineOutput } from './contract.ts'
import { rejectedOutput } from './rejection.ts'

export interface Decision<C> {
  context: C
  outputs: MachineOutput[]
}

export interface Decider<C, I> {
  init: (input: I) => C
  /** what the machine emits when it starts, derived from its first context */
  initialOutputs: (context: C) => MachineOutput[]
  decide: (context: C, event: InputEvent) => Decision<C>
}

interface Enqueue {
  assign: (patch: object) => void
  emit: (event: MachineOutput) => void
}

/**
 * One step of a decider machine: the decision, or, when the decider refuses the input, the context
 * unchanged and the refusal reported. This is the machine's whole transition; stepping it directly
 * (as the simulator does) gives the machine's contexts and outputs.
 */
export function decideOrRefuse<C, I> (decider: Decider<C, I>, context: C, event: InputEvent): Decision<C> {
  try {
    return decider.decide(context, event)
  } catch (err) {
    return { context, outputs: [rejectedOutput(event, err)] }
  }
}

const decidersOf = new WeakMap<object, Decider<object, unknown>>()

/** The decider a machine made by `deciderMachine` wraps, if it is one. */
export function deciderOf (machine: object): Decider<object, unknown> | undefined {
  return decidersOf.get(machine)
}

export function deciderMachine<C extends object, I> (id: string, decider: Decider<C, I>) {
  const machine = machineOf(id, decider)
  decidersOf.set(machine, decider as unknown as Decider<object, unknown>)
  return machine
}

function machineOf<C extends object, I> (id: string, decider: Decider<C, I>) {
  return setup({
    types: {
      context: {} as C,
      input: {} as I,
      events: {} as InputEvent,
      emitted: {} as MachineOutput
    }
  }).createMachine({
    id,
    context: ({ input }) => decider.init(input),
    entry: enqueueActions(({ context, enqueue }: { context: C, enqueue: Enqueue }) => {
      for (const output of decider.initialOutputs(context)) enqueue.emit(output)
    }) as never,
    on: {
      '*': {
        actions: enqueueActions(({ context, event, enqueue }: { context: C, event: InputEvent, enqueue: Enqueue }) => {
          const decision = decideOrRefuse(decider, context, event)
          if (decision.context !== context) enqueue.assign(() => decision.context)
          for (const output of decision.outputs) enqueue.emit(output)
        }) as never
      }
    }
  })
}
