// A module's Timeout is read into a bounded number of seconds, whatever the spec asks for.
import { describe, expect, it } from 'vitest'
import { parseModuleSpec, MAX_JOB_TIMEOUT_SECONDS, MAX_JOB_TIMEOUT_MS, ModuleError } from '../../../../src/executor/modules/index.ts'
import { jobTimeoutMs } from '../../../../src/executor/docker/from-module.ts'

const SET_TIMEOUT_MAX_MS = 2 ** 31 - 1

/** A module whose Timeout is `timeout` as written in JSON. */
function withTimeout (timeout: string): string {
  return `{"machine":{"gpu":0,"cpu":1000,"ram":100},"job":{"APIVersion":"V1beta1","Spec":{"Engine":"Docker","Docker":{"Image":"busybox"},"Timeout":${timeout}}}}`
}

describe('job timeout', () => {
  it('keeps a timeout within the bound as it is', () => {
    const spec = parseModuleSpec(withTimeout('1800'))
    expect(spec.job.timeout).toBe(1800)
    expect(spec.job.timeoutClamped).toBe(false)
    expect(jobTimeoutMs(spec.job)).toBe(1_800_000)
  })

  it('clamps a huge timeout to the maximum, which a timer can hold', async () => {
    for (const asked of ['1e9', '1000000000', '9223372036854775807', String(MAX_JOB_TIMEOUT_SECONDS + 1)]) {
      const spec = parseModuleSpec(withTimeout(asked))
      expect(spec.job.timeout).toBe(MAX_JOB_TIMEOUT_SECONDS)
      expect(spec.job.timeoutClamped).toBe(true)
      expect(jobTimeoutMs(spec.job)).toBe(MAX_JOB_TIMEOUT_MS)
    }
    expect(MAX_JOB_TIMEOUT_MS).toBeLessThanOrEqual(SET_TIMEOUT_MAX_MS)
    // a timer of the maximum does not fire at once, as an overflowing one would
    let fired = false
    const timer = setTimeout(() => { fired = true }, MAX_JOB_TIMEOUT_MS)
    await new Promise(resolve => setTimeout(resolve, 20))
    clearTimeout(timer)
    expect(fired).toBe(false)
  })

  it('reads no timeout, zero and a negative one as none', () => {
    for (const t of ['null', '0', '-5']) {
      const spec = parseModuleSpec(withTimeout(t))
      expect(spec.job.timeout).toBe(0)
      expect(spec.job.timeoutClamped).toBe(false)
    }
  })

  it('refuses what Go cannot read into an int64, with Go\'s message', () => {
    for (const [t, what] of [['"60"', 'string'], ['1.5', 'number 1.5']] as const) {
      let err: unknown
      try { parseModuleSpec(withTimeout(t)) } catch (e) { err = e }
      expect(err).toBeInstanceOf(ModuleError)
      expect((err as ModuleError).code).toBe('MODULE_SPEC_INVALID')
      expect((err as ModuleError).message).toBe(`json: cannot unmarshal ${what} into Go struct field Module.job.Spec.Timeout of type int64`)
    }
    // JSON's 1e400 is beyond any int64
    expect(() => parseModuleSpec(withTimeout('1e400'))).toThrow(/cannot unmarshal number Infinity into Go struct field Module\.job\.Spec\.Timeout of type int64/)
  })
})
