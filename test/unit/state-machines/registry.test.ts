import { expect, test } from 'vitest'
import { machines } from '../../../src/state-machines/index.ts'

test('the registry names one machine per role, each with a version', () => {
  expect(Object.keys(machines).sort()).toEqual(['job-creator', 'mediator', 'resource-provider', 'solver'])
  for (const [name, entry] of Object.entries(machines)) {
    expect(entry.name).toBe(name)
    expect(entry.machine.id).toBe(name)
    expect(Number.isInteger(entry.version) && entry.version > 0).toBe(true)
  }
})
