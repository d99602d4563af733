/** Driving a machine purely: start it, feed it one event, read its outputs. */
import { createActor, type ActorScope, type AnyStateMachine, type SnapshotFrom } from 'xstate'
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

type Scope = ActorScope<never, never> & { actionExecutor: (action: ActionLike) => void }

const scopes = new WeakMap<AnyStateMachine, Scope>()

/**
 * The inert scope XState's `initialTransition()` and `transition()` build for every call: an actor
 * that runs nothing. Building it computes the machine's initial state (its context factory, on no
 * input), which cost more than the step itself; our machines spawn and invoke nothing, so one
 * scope per machine serves every call. Its action executor only collects what a call resolves.
 */
function scopeOf (machine: AnyStateMachine): Scope {
  let scope = scopes.get(machine)
  if (scope === undefined) {
    const self = createActor(machine)
    scope = {
      self, defer: () => {}, id: '', logger: () => {}, sessionId: '', stopChild: () => {}, system: self.system,
      emit: () => {}, actionExecutor: () => {}
    } as unknown as Scope
    scopes.set(machine, scope)
  }
  return scope
}

function collecting (machine: AnyStateMachine): { scope: Scope, actions: ActionLike[] } {
  const scope = scopeOf(machine)
  const actions: ActionLike[] = []
  scope.actionExecutor = action => { actions.push(action) }
  return { scope, actions }
}

export function start<M extends AnyStateMachine> (machine: M, input: unknown): Stepped<M> {
  const { scope, actions } = collecting(machine)
  const snapshot = machine.getInitialSnapshot(scope as never, input)
  return { snapshot: snapshot as SnapshotFrom<M>, outputs: outputsOf(actions) }
}

export function step<M extends AnyStateMachine> (machine: M, snapshot: SnapshotFrom<M>, event: InputEvent): Stepped<M> {
  const { scope, actions } = collecting(machine)
  const next = machine.transition(snapshot, event as never, scope as never)
  return { snapshot: next as SnapshotFrom<M>, outputs: outputsOf(actions) }
}
