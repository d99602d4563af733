import { describe, expect, test } from 'vitest'
import { ProtocolViolation, rejectedOutput, violation } from '../../../src/state-machines/rejection.ts'
import type { InputEvent } from '../../../src/state-machines/contract.ts'

function caught (run: () => void): unknown {
  try {
    run()
  } catch (err) {
    return err
  }
  throw new Error('nothing was thrown')
}

describe('a refusal', () => {
  test('is a ProtocolViolation with its code and reason, and no stack frames', () => {
    const err = caught(() => violation('LATE', 'after the deadline')) as ProtocolViolation
    expect(err).toBeInstanceOf(ProtocolViolation)
    expect(err).toBeInstanceOf(Error)
    expect(err.code).toBe('LATE')
    expect(err.message).toBe('LATE: after the deadline')
    expect(err.stack).toBe('ProtocolViolation: LATE: after the deadline')
  })

  test('leaves the stack trace limit as it found it, for every other error', () => {
    const before = Error.stackTraceLimit
    caught(() => violation('DUPLICATE', 'again'))
    expect(Error.stackTraceLimit).toBe(before)
    expect(new Error('a fault').stack).toContain('rejection.test.ts')
  })

  test('is reported as an output whose id is derived from the event', () => {
    const event: InputEvent = { type: 'timer.fired', timer: 'x', at: 5 }
    const a = rejectedOutput(event, caught(() => violation('EARLY_TIMER', 'no such timer')))
    const b = rejectedOutput({ ...event }, caught(() => violation('EARLY_TIMER', 'no such timer')))
    expect(a).toEqual(b)
    expect(a).toMatchObject({ type: 'input.rejected', code: 'EARLY_TIMER', reason: 'EARLY_TIMER: no such timer', eventType: 'timer.fired' })
    expect(a.id).toMatch(/^rejected:5:[0-9a-f]{16}$/)
    expect(rejectedOutput({ ...event, at: 6 }, caught(() => violation('EARLY_TIMER', 'no such timer'))).id).not.toBe(a.id)
  })

  test('an error that is not a refusal is thrown on, not reported', () => {
    const fault = new TypeError('a bug')
    expect(() => rejectedOutput({ type: 'timer.fired', at: 1 } as InputEvent, fault)).toThrow(fault)
  })
})
