import { describe, expect, it } from 'vitest'
import { HashChecker } from '../../../../src/actors/eventlog/hash-checker.ts'
import { GENESIS_PREV, sealRecord, storedHashHolds } from '../../../../src/actors/eventlog/record.ts'
import type { Json } from '../../../../src/state-machines/contract.ts'

function page (data: Json[]): string[] {
  let prev = GENESIS_PREV
  return data.map((value, i) => {
    const { record, stored } = sealRecord({ v: 1, seq: i + 1, at: 5, type: 'x', data: value, prev })
    prev = record.hash
    return stored
  })
}

const texts = ['plain', 'é', '日本語', '😀 pair', 'lone \ud83d surrogate', 'line\u2028sep', 'say "hash":"' + 'f'.repeat(64) + '",', '\u0000\u001f']
const damages: Array<[string, (stored: string) => string]> = [
  ['content', s => s.replace('"i":', '"j":')],
  ['hash digit', s => s.replace(/"hash":"(.)/, (_, c: string) => `"hash":"${c === '0' ? '1' : '0'}`)],
  ['hash member removed', s => s.replace(/"hash":"[0-9a-f]{64}",/, '')],
  ['hash cut short', s => s.replace(/("hash":"[0-9a-f]{60})[0-9a-f]{4}/, '$1')],
  ['non-ASCII in hash', s => s.replace(/("hash":"[0-9a-f]{10})[0-9a-f]/, '$1é')],
  ['truncated', s => s.slice(0, 40)],
  ['empty', () => '']
]

async function running (): Promise<HashChecker> {
  const checker = HashChecker.start()!
  expect(await checker.ready).toBe(true)
  return checker
}

describe('HashChecker', () => {
  it('finds every stored hash of sealed records holding, whatever characters they hold', async () => {
    const checker = await running()
    const stored = page(texts.map((text, i) => ({ text, i })))
    expect(stored.every(storedHashHolds)).toBe(true)
    expect(await checker.check(stored)).toBe(-1)
    await checker.stop()
  })

  it('names the first record whose hash does not hold, as the single-threaded check does', async () => {
    const checker = await running()
    const stored = page(Array.from({ length: 50 }, (_, i) => ({ text: texts[i % texts.length]!, i })))
    for (const [name, damage] of damages) {
      for (const at of [0, 17, 49]) {
        const damaged = stored.slice()
        damaged[at] = damage(damaged[at]!)
        expect(storedHashHolds(damaged[at]!), name).toBe(false)
        expect(await checker.check(damaged), `${name} at ${at}`).toBe(at)
      }
    }
    const twice = stored.slice()
    twice[30] = damages[0]![1](twice[30]!)
    twice[10] = damages[1]![1](twice[10]!)
    expect(await checker.check(twice)).toBe(10)
    await checker.stop()
  })

  it('checks pages in flight together, each against its own records', async () => {
    const checker = await running()
    const pages = Array.from({ length: 8 }, (_, p) => {
      const stored = page(Array.from({ length: 200 }, (_, i) => ({ p, i, text: texts[(p + i) % texts.length]! })))
      if (p % 2 === 1) stored[p * 10] = damages[0]![1](stored[p * 10]!)
      return stored
    })
    expect(await Promise.all(pages.map(p => checker.check(p)))).toEqual(pages.map((_, p) => p % 2 === 1 ? p * 10 : -1))
    await checker.stop()
  })

  it('checks pages itself once closed, and those still at the worker when it closed', async () => {
    const checker = await running()
    const stored = page(Array.from({ length: 1000 }, (_, i) => ({ i })))
    stored[600] = damages[0]![1](stored[600]!)
    const inFlight = checker.check(stored)
    await checker.stop()
    expect(await inFlight).toBe(600)
    expect(await checker.check(stored)).toBe(600)
  })

  it('checks pages itself when the worker cannot start', async () => {
    const checker = HashChecker.start(new URL('./no-such-worker.mjs', import.meta.url))
    if (checker === undefined) return
    expect(await checker.ready).toBe(false)
    const stored = page([{ a: 1 }, { a: 2 }])
    expect(await checker.check(stored)).toBe(-1)
    stored[1] = damages[0]![1](stored[1]!.replace('"a":', '"i":'))
    expect(await checker.check(stored)).toBe(1)
    await checker.stop()
  })
})
