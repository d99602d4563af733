import { describe, expect, it } from 'vitest'
import type { LoadedModule } from '../../../../src/executor/modules/load.ts'
import { rerunWindowMs, submitWindowMs } from '../../../../src/node/jobs/submit-window.ts'

/** Only the module's timeout matters to its windows. */
const moduleWithTimeout = (seconds: number): LoadedModule => ({ spec: { job: { timeout: seconds } } }) as unknown as LoadedModule

describe('a job\'s windows from its module', () => {
  it('give the provider the module\'s timeout and 7 minutes of margins to submit, and a mediator as long to re-run', () => {
    expect(submitWindowMs(moduleWithTimeout(1800))).toBe(1_800_000 + 420_000)
    expect(rerunWindowMs(moduleWithTimeout(60))).toBe(480_000)
  })

  it('take 30 minutes for a module that names no timeout', () => {
    expect(submitWindowMs(moduleWithTimeout(0))).toBe(2_220_000)
  })

  it('keep a window asked for, unless it is shorter than the timeout', () => {
    expect(submitWindowMs(moduleWithTimeout(60), 90_000)).toBe(90_000)
    expect(() => submitWindowMs(moduleWithTimeout(600), 120_000)).toThrow("a submit window of 120 s is shorter than the module's timeout (600 s): no provider could finish in time")
  })

  it('refuse a module whose timeout needs more than a deal\'s window may be', () => {
    expect(() => submitWindowMs(moduleWithTimeout(259_200))).toThrow(/the module's timeout \(259200 s\) and margins need a submit window of 259620 s, longer than a deal allows \(172800 s\)/)
    expect(() => submitWindowMs(moduleWithTimeout(259_200))).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }))
  })
})
