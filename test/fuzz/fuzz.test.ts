/**
 * A small run of every fuzz target (`npm run fuzz` runs them at length), and the harness itself:
 * it must tell a crash, a disagreement, a slow input and an unbounded allocation from a refusal, and
 * shrink or name what it found.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Finding, TARGETS, type FuzzTarget } from '../../fuzz/targets.ts'
import { ALLOC_BYTES, fuzzTarget } from '../../fuzz/fuzz-target.ts'
import { runInWorker } from '../../fuzz/in-worker.ts'
import { TARGETS as PLANTED } from './planted-targets.ts'

const SEED = 20261206

/** Bugs in src that a target finds until they are fixed there, and the entry goes: what it finds meanwhile. */
const KNOWN: Record<string, RegExp> = {}

describe('fuzz targets, a small run each', () => {
  for (const target of TARGETS) {
    it(`${target.name}: ${target.what}`, async () => {
      const result = await fuzzTarget(target, { runs: 300, seed: SEED })
      const known = KNOWN[target.name]
      if (known !== undefined) {
        expect(result.finding?.message, 'a known bug is not found any more: take it out of KNOWN').toMatch(known)
        return
      }
      expect(result.finding, JSON.stringify(result.finding)).toBeUndefined()
      expect(result.runs).toBe(300)
    }, 60_000)
  }
})

describe('the fuzz harness', () => {
  /** A decoder that refuses odd lengths with its own error, and has a bug past 40 bytes. */
  const buggy: FuzzTarget<string> = {
    name: 'buggy',
    what: 'a planted bug',
    input: fc.string({ maxLength: 80, size: 'max' }),
    run: (text) => {
      try {
        if (text.length % 2 === 1) throw new RangeError('odd')
        if (text.length > 40) (undefined as unknown as { x: number }).x = 1
      } catch (err) {
        if (err instanceof RangeError) return
        throw new Finding('crash', `threw ${(err as Error).name}`)
      }
    }
  }

  it('reports a crash on the smallest input it can shrink to, and the seed that replays it', () => {
    const result = fuzzTarget(buggy as FuzzTarget, { runs: 2000, seed: SEED })
    expect(result.finding).toMatchObject({ kind: 'crash', message: 'threw TypeError' })
    // the smallest even length over 40
    expect(JSON.parse(result.finding!.input)).toHaveLength(42)
    const again = fuzzTarget(buggy as FuzzTarget, { runs: 2000, seed: result.seed })
    expect(again.finding?.input).toBe(result.finding!.input)
  })

  it('finds nothing in code that only refuses', () => {
    const refusing: FuzzTarget<string> = { ...buggy, run: (text) => { try { JSON.parse(text) } catch (err) { if (!(err instanceof SyntaxError)) throw new Finding('crash', String(err)) } } }
    expect(fuzzTarget(refusing as FuzzTarget, { runs: 500, seed: SEED }).finding).toBeUndefined()
  })

  const planted = new URL('./planted-targets.ts', import.meta.url)

  it('reports one call that allocates over the bound, on the smallest input it can shrink to', () => {
    const hoarder = PLANTED.find(t => t.name === 'hoarder')!
    const result = fuzzTarget(hoarder, { runs: 300, seed: SEED })
    // n MB a call: 65 is the smallest n over the bound, 64 MB and 1000 bytes a character of the input
    expect(ALLOC_BYTES).toBe(64 * 2 ** 20)
    expect(result.finding).toMatchObject({ kind: 'allocation', input: '65', message: 'one call on an input of 2 characters grew the heap by 65.0 MB, over the bound of 64.0 MB' })
  })

  it('gives back from a worker what it finds in this thread', async () => {
    const here = fuzzTarget(PLANTED.find(t => t.name === 'hoarder')!, { runs: 300, seed: SEED })
    const there = await runInWorker({ name: 'hoarder', runs: 300, seed: SEED, targets: planted })
    // which input is found first may differ: a collection during a call can hide what it allocated
    expect(there.finding).toMatchObject({ kind: here.finding!.kind, message: here.finding!.message, input: here.finding!.input })
  }, 60_000)

  // 42 is the input a second worker replayed alone from its number, and ran out of heap on again
  it('reports an input that allocates without bound as the one the worker ran out of heap on', async () => {
    const result = await runInWorker({ name: 'runaway', runs: 2000, seed: SEED, targets: planted })
    expect(result.finding).toMatchObject({ kind: 'allocation', input: '42', message: expect.stringMatching(/^input #\d+ ran the worker out of its \d+ MB heap; alone it does again$/) })
  }, 60_000)

  it('tells a leak over many inputs from one input that allocates without bound', async () => {
    const result = await runInWorker({ name: 'leaky', runs: 2000, seed: SEED, targets: planted })
    expect(result.finding).toMatchObject({ kind: 'allocation', message: expect.stringMatching(/ran the worker out of its \d+ MB heap; alone it does not, so memory grew over the inputs before it$/) })
    expect(result.runs).toBeGreaterThan(100)
  }, 60_000)
})
