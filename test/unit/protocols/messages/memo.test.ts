import { describe, expect, test } from 'vitest'
import { BoundedMemo, SmallMap } from '../../../../src/protocols/messages/memo.ts'

describe('SmallMap', () => {
  test('behaves as a Map: the first entry inline, later ones beside it, and a key set again replaced', () => {
    const small = new SmallMap<number>()
    const map = new Map<string, number>()
    const keys = ['a', 'b', 'a', 'c', 'b', 'd', 'a']
    keys.forEach((key, i) => {
      small.set(key, i)
      map.set(key, i)
      for (const k of ['a', 'b', 'c', 'd', 'e']) expect(small.get(k)).toBe(map.get(k))
    })
  })
})

describe('BoundedMemo', () => {
  test('keeps at least the newer half of its limit, and drops the older generation whole', () => {
    const memo = new BoundedMemo<number>(4)
    for (let i = 0; i < 4; i++) memo.set(`k${i}`, i)
    expect([0, 1, 2, 3].map(i => memo.get(`k${i}`))).toEqual([0, 1, 2, 3])
    memo.set('k4', 4)
    expect([0, 1, 2, 3, 4].map(i => memo.get(`k${i}`))).toEqual([undefined, undefined, 2, 3, 4])
  })
})
