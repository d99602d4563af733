/** The machines of every role, by name: the runtime and `lilypad audit` find machines here. */
import type { AnyStateMachine } from 'xstate'
import type { Messages } from '../protocols/messages/signing.ts'
import type { Decider } from './decider.ts'
import { createJobCreatorDecider, jobCreatorMachine } from './job-creator.machine.ts'
import { createMediatorDecider, mediatorMachine } from './mediator.machine.ts'
import { createResourceProviderDecider, resourceProviderMachine } from './resource-provider.machine.ts'
import { createSolverDecider, solverMachine } from './solver.machine.ts'

export interface RegisteredMachine {
  name: string
  /** bumped whenever a change would make old snapshots or logs replay differently */
  version: number
  machine: AnyStateMachine
}

export const machines: Record<string, RegisteredMachine> = {
  'job-creator': { name: 'job-creator', version: 10, machine: jobCreatorMachine },
  'resource-provider': { name: 'resource-provider', version: 12, machine: resourceProviderMachine },
  solver: { name: 'solver', version: 8, machine: solverMachine },
  mediator: { name: 'mediator', version: 8, machine: mediatorMachine }
}

/**
 * Every role's decider, checking messages with `messages`: a simulation builds its parties' machines
 * from these with its own (nodes run `machines`, built with `nodeMessages`).
 */
export function createDeciders (messages: Messages): Record<string, Decider<object, unknown>> {
  return {
    'job-creator': createJobCreatorDecider(messages),
    'resource-provider': createResourceProviderDecider(messages),
    solver: createSolverDecider(messages),
    mediator: createMediatorDecider(messages)
  } as unknown as Record<string, Decider<object, unknown>>
}

export * from './contract.ts'
export * from './deal-states.ts'
export * from './settle.ts'
export * from './matcher.ts'
export * from './check-decision.ts'
export * from './rejection.ts'
export { outputsOf, start, step } from './step.ts'
export { MESSAGE_RECEIVED, type DomainJson, type MessageReceived } from './common.ts'
export { buildDeal, checkProposal, dealId } from './deal-terms.ts'
export { resultsCidHash } from './deal-lifecycle.ts'
export { jobCreatorMachine, JOB_OFFERS_TOPIC, type JobCreatorInput, type JobCreatorContext } from './job-creator.machine.ts'
export { resourceProviderMachine, RESOURCE_OFFERS_TOPIC, DEALS_TOPIC, type ResourceProviderInput, type SlotTerms } from './resource-provider.machine.ts'
export { solverMachine, type SolverInput } from './solver.machine.ts'
export { mediatorMachine, VERDICTS_TOPIC, type MediatorInput } from './mediator.machine.ts'
export * from './io.ts'
