/**
 * Guards and actions for machines whose transitions are chosen by "examiners": pure functions that
 * check an input against the context and either return what it changes or throw a ProtocolViolation
 * (or MessageError). The guard asks "does this examiner accept the input?", the action applies the
 * same examination (memoised per event and context), and `reject` reports the best reason.
 */
import { enqueueActions } from 'xstate'
import type { InputEvent, MachineOutput } from './contract.ts'
import { ProtocolViolation, rejectedOutput, rejectionCode } from './rejection.ts'

export interface Examination<C> {
  patch: Partial<C>
  outputs?: MachineOutput[]
}

export type Examiner<C> = (context: C, event: InputEvent) => Examination<C>

interface Enqueue {
  assign: (patch: object) => void
  emit: (event: MachineOutput) => void
}

type Result<C> = { ok: true, value: Examination<C> } | { ok: false, error: unknown }

export function examinedImplementations<C extends object> (examiners: Record<string, Examiner<C>>) {
  const memo = new WeakMap<object, WeakMap<object, Map<string, Result<C>>>>()

  function examine (kind: string, context: C, event: InputEvent): Result<C> {
    let byContext = memo.get(event)
    if (byContext === undefined) memo.set(event, byContext = new WeakMap())
    let byKind = byContext.get(context)
    if (byKind === undefined) byContext.set(context, byKind = new Map())
    let result = byKind.get(kind)
    if (result === undefined) {
      const examiner = examiners[kind]
      if (examiner === undefined) throw new Error(`no examiner named ${kind}`)
      try {
        result = { ok: true, value: examiner(context, event) }
      } catch (error) {
        if (rejectionCode(error) === undefined) throw error
        result = { ok: false, error }
      }
      byKind.set(kind, result)
    }
    return result
  }

  return {
    guards: {
      accepts: ({ context, event }: { context: C, event: InputEvent }, params: { kind: string }) =>
        examine(params.kind, context, event).ok
    },
    actions: {
      apply: enqueueActions(({ context, event, enqueue }: { context: C, event: InputEvent, enqueue: Enqueue }, params: { kind: string }) => {
        const result = examine(params.kind, context, event)
        if (!result.ok) throw result.error
        enqueue.assign(result.value.patch)
        for (const output of result.value.outputs ?? []) enqueue.emit(output)
      }),
      reject: enqueueActions(({ context, event, enqueue }: { context: C, event: InputEvent, enqueue: Enqueue }, params: { kinds?: string[] } | undefined) => {
        let error: unknown = new ProtocolViolation('WRONG_STATE', `${event.type} is not expected now`)
        for (const kind of params?.kinds ?? []) {
          const result = examine(kind, context, event)
          if (!result.ok && rejectionCode(result.error) !== 'WRONG_STATE') { error = result.error; break }
        }
        if (!(event.type as string).startsWith('xstate.')) enqueue.emit(rejectedOutput(event, error))
      })
    }
  }
}
