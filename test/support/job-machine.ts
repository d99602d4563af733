import { assign, emit, setup } from 'xstate'
import type { Deadlines, InputEvent } from '../../src/state-machines/contract.ts'
import type { ActorDefinition } from '../../src/actors/runtime/driver.ts'

/**
 * A small machine for runtime tests, shaped like a role machine: an input starts work with a
 * deadline, the work is an effect whose result comes back as an input, and the end is announced
 * with an output message.
 */
export interface JobContext {
  job: string
  timeoutMs: number
  deadlines: Deadlines
  result: string | null
}

export const jobMachine = setup({
  types: {
    context: {} as JobContext,
    input: {} as { job: string, timeoutMs: number },
    events: {} as InputEvent
  }
}).createMachine({
  id: 'test-job',
  context: ({ input }) => ({ job: input.job, timeoutMs: input.timeoutMs, deadlines: {}, result: null }),
  initial: 'idle',
  states: {
    idle: {
      on: {
        start: {
          target: 'working',
          actions: [
            assign({ deadlines: ({ context, event }) => ({ giveUp: event.at + context.timeoutMs }) }),
            emit(({ context, event }) => ({ type: 'work', id: `work:${context.job}`, payload: String(event.payload ?? '') }))
          ]
        }
      }
    },
    working: {
      on: {
        'work.done': {
          guard: ({ context, event }) => event.effect === `work:${context.job}`,
          target: 'done',
          actions: [
            assign({ deadlines: {}, result: ({ event }) => String(event.result) }),
            emit(({ context, event }) => ({ type: 'send.message', id: `notify:${context.job}`, to: 'creator', body: String(event.result) }))
          ]
        },
        'effect.failed': { target: 'failed', actions: assign({ deadlines: {} }) },
        'timer.fired': {
          guard: ({ event }) => event.timer === 'giveUp',
          target: 'timedOut',
          actions: [
            assign({ deadlines: {} }),
            emit(({ context }) => ({ type: 'send.message', id: `timeout:${context.job}`, to: 'creator', body: 'timed out' }))
          ]
        }
      }
    },
    done: { type: 'final' },
    failed: { type: 'final' },
    timedOut: { type: 'final' }
  }
})

export const jobDefinition: ActorDefinition = { name: 'test-job', version: 1, machine: jobMachine }
export const testDefinitions: Record<string, ActorDefinition> = { 'test-job': jobDefinition }
