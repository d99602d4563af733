import { describe, expect, test } from 'vitest'
import { BadRequest, parseJobRequest } from '../../../../src/node/server/job-request.ts'
import { DEFAULT_MEDIATION_CHANCE } from '../../../../src/node/jobs/check-rate.ts'

describe('POST /jobs body', () => {
  test('takes the agree window a job gives its parties to sign, in milliseconds', () => {
    expect(parseJobRequest({ module: 'cowsay:v0.0.1', agreeWithinMs: 120_000 }).agreeWithinMs).toBe(120_000)
    expect(parseJobRequest({ module: 'cowsay:v0.0.1' }).agreeWithinMs).toBeUndefined()
  })

  test.each([0, -1, 1.5, '30000', 86_400_001])('refuses the agree window %j in one line', (agreeWithinMs) => {
    expect(() => parseJobRequest({ module: 'cowsay:v0.0.1', agreeWithinMs })).toThrow(new BadRequest('agreeWithinMs must be a whole number of milliseconds, at most a day'))
  })

  test('checks results by default at the rate at which making them up does not pay; 0 turns checking off', () => {
    expect(parseJobRequest({ module: 'cowsay:v0.0.1' }).mediationChance).toBe(DEFAULT_MEDIATION_CHANCE)
    expect(DEFAULT_MEDIATION_CHANCE).toBeGreaterThan(0)
    expect(parseJobRequest({ module: 'cowsay:v0.0.1', mediationChance: 0 }).mediationChance).toBe(0)
  })

  test('refuses a field it does not know', () => {
    expect(() => parseJobRequest({ module: 'cowsay:v0.0.1', agreeWithin: 5 })).toThrow('unknown field "agreeWithin"')
  })
})
