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

export function deciderMachine<C extends object, I> (id: string, decider: Decider<C, I>) {
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
          let decision: Decision<C>
          try {
            decision = decider.decide(context, event)
          } catch (err) {
            enqueue.emit(rejectedOutput(event, err))
            return
          }
          if (decision.context !== context) enqueue.assign(() => decision.context)
          for (const output of decision.outputs) enqueue.emit(output)
        }) as never
      }
    }
  })
}
