/** The property every machine must have: rejected inputs change nothing; a replay reproduces everything. */
import { expect } from 'vitest'
import fc from 'fast-check'
import type { AnyStateMachine } from 'xstate'
import type { InputEvent } from '../../../src/state-machines/contract.ts'
import { OUTPUT_TYPES } from '../../../src/state-machines/io.ts'
import { deciderOf, decideOrRefuse } from '../../../src/state-machines/decider.ts'
import { start, step } from '../../../src/state-machines/step.ts'

/**
 * A decider machine's decider, stepped by itself alongside the machine (as the simulator steps it),
 * must give the machine's contexts and outputs at every step.
 */
export function assertReplayProperty (machine: AnyStateMachine, input: unknown, events: fc.Arbitrary<InputEvent>, numRuns = 60): void {
  const decider = deciderOf(machine)
  fc.assert(fc.property(fc.array(events, { maxLength: 12 }), log => {
    const run = (): string[] => {
      const first = start(machine, input)
      let snap = first.snapshot
      let decided = decider?.init(input)
      if (decider !== undefined) {
        expect(JSON.stringify(decided)).toBe(JSON.stringify(first.snapshot.context))
        expect(decider.initialOutputs(decided as object)).toEqual(first.outputs)
      }
      const trace = [JSON.stringify(first)]
      const ids = new Set(first.outputs.map(o => o.id))
      for (const e of log) {
        const r = step(machine, snap, JSON.parse(JSON.stringify(e)) as InputEvent)
        if (decider !== undefined) {
          const d = decideOrRefuse(decider, decided as object, JSON.parse(JSON.stringify(e)) as InputEvent)
          expect(d.outputs).toEqual(r.outputs)
          expect(JSON.stringify(d.context)).toBe(JSON.stringify(r.snapshot.context))
          decided = d.context
        }
        if (r.outputs.some(o => o.type === 'input.rejected')) {
          expect(r.outputs).toHaveLength(1)
          expect(JSON.stringify(r.snapshot.context)).toBe(JSON.stringify(snap.context))
          expect(r.snapshot.value).toEqual(snap.value)
        }
        for (const o of r.outputs) {
          expect(OUTPUT_TYPES).toContain(o.type)
          if (o.type === 'input.rejected') continue
          // handlers are idempotent by id, so a new effect must never reuse one
          expect(ids.has(o.id), `output id ${o.id} reused`).toBe(false)
          ids.add(o.id)
        }
        snap = machine.resolveState(JSON.parse(JSON.stringify(r.snapshot)))
        trace.push(JSON.stringify(r))
      }
      return trace
    }
    expect(run()).toEqual(run())
  }), { numRuns })
}
