import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type StateValue } from 'xstate'
import type { Deadlines, InputEvent, Json, MachineOutput } from '../../state-machines/contract.ts'

/** A machine the runtime can drive, under a stable name and a version that changes with its logic. */
export interface ActorDefinition {
  name: string
  version: number
  machine: AnyStateMachine
}

export interface Step {
  snapshot: AnyMachineSnapshot
  outputs: MachineOutput[]
}

export class MachineContractError extends Error {
  override readonly name = 'MachineContractError'
  readonly code = 'ERR_MACHINE_CONTRACT'
}

function outputsOf (definition: ActorDefinition, actions: ReadonlyArray<{ type: string, params?: unknown }>): MachineOutput[] {
  const outputs: MachineOutput[] = []
  for (const action of actions) {
    if (action.type !== 'xstate.emit') continue
    const output = (action.params as { event?: MachineOutput } | undefined)?.event
    if (output === undefined || typeof output.type !== 'string' || typeof output.id !== 'string' || output.id === '') {
      throw new MachineContractError(`machine ${definition.name} emitted an output without a type and an id`)
    }
    outputs.push(output)
  }
  return outputs
}

/** The pure first step of a machine: its initial state and the outputs of entering it. */
export function startMachine (definition: ActorDefinition, input: Json | undefined): Step {
  const [snapshot, actions] = initialTransition(definition.machine, input)
  return { snapshot, outputs: outputsOf(definition, actions) }
}

/** One pure step: the next state and the outputs of the transition. */
export function stepMachine (definition: ActorDefinition, snapshot: AnyMachineSnapshot, event: InputEvent): Step {
  const [next, actions] = transition(definition.machine, snapshot, event)
  return { snapshot: next, outputs: outputsOf(definition, actions) }
}

export function persistState (definition: ActorDefinition, snapshot: AnyMachineSnapshot): Json {
  return definition.machine.getPersistedSnapshot(snapshot) as unknown as Json
}

export function restoreState (definition: ActorDefinition, persisted: Json): AnyMachineSnapshot {
  const { value, context } = persisted as { value: StateValue, context: Json }
  return definition.machine.resolveState({ value, context })
}

export function deadlinesOf (snapshot: AnyMachineSnapshot): Deadlines {
  const deadlines = (snapshot.context as { deadlines?: Deadlines } | undefined)?.deadlines
  return deadlines ?? {}
}
