import { describe, expect, test } from 'vitest'
import { emptyRecord, withEntry, withoutEntries } from '../../../src/state-machines/records.ts'

describe('records keyed by ids', () => {
  test('copies keep insertion order and the JSON text a plain object would have; the original is unchanged', () => {
    const plain: Record<string, number> = {}
    let record = emptyRecord<number>()
    for (const [key, value] of [['0xb', 1], ['0xa', 2], ['submit:0xb', 3], ['0xb', 4]] as const) {
      const before = JSON.stringify(record)
      const next = withEntry(record, key, value)
      expect(JSON.stringify(record)).toBe(before)
      record = next
      plain[key] = value
      expect(JSON.stringify(record)).toBe(JSON.stringify(plain))
      expect(Object.keys(record)).toEqual(Object.keys(plain))
    }
    const dropped = withoutEntries(record, (key, value) => key.startsWith('submit:') || value === 2)
    expect(JSON.stringify(dropped)).toBe('{"0xb":4}')
    expect(Object.keys(record)).toEqual(['0xb', '0xa', 'submit:0xb'])
  })

  test('a copy is a dictionary: no prototype, so no inherited key reads as an entry', () => {
    const record = withEntry(emptyRecord<number>(), 'a', 1)
    expect(Object.getPrototypeOf(record)).toBeNull()
    expect(record.constructor).toBeUndefined()
    expect(record.toString).toBeUndefined()
    expect(Object.getPrototypeOf(withoutEntries({ a: 1 }, () => false))).toBeNull()
  })
})
