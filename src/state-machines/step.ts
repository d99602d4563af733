/** Driving a machine purely: start it, feed it one event, read its outputs. */
import { initialTransition, transition, type AnyStateMachine, type SnapshotFrom } from 'xstate'
import type { InputEvent, MachineOutput } from './contract.ts'

interface ActionLike { type: string, params?: unknown }

/** The events a transition emitted, in order: the machine's outputs. */
export function outputsOf (actions: readonly ActionLike[]): MachineOutput[] {
  return actions
    .filter(a => a.type === 'xstate.emit')
    .map(a => (a.params as { event: MachineOutput }).event)
}

export interface Stepped<M extends AnyStateMachine> {
  snapshot: SnapshotFrom<M>
  outputs: MachineOutput[]
}

export function start<M extends AnyStateMachine> (machine: M, input: unknown): Stepped<M> {
  const [snapshot, actions] = initialTransition(machine, ...([input] as never))
  return { snapshot: snapshot as SnapshotFrom<M>, outputs: outputsOf(actions as ActionLike[]) }
}

export function step<M extends AnyStateMachine> (machine: M, snapshot: SnapshotFrom<M>, event: InputEvent): Stepped<M> {
  const [next, actions] = transition(machine, snapshot, event as never)
  return { snapshot: next as SnapshotFrom<M>, outputs: outputsOf(actions as ActionLike[]) }
}
