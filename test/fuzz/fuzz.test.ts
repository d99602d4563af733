/**
 * A small run of every fuzz target (`npm run fuzz` runs them at length), and the harness itself:
 * it must tell a crash, a disagreement and a slow input from a refusal, and shrink what it found.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { Finding, TARGETS, type FuzzTarget } from '../../fuzz/targets.ts'
import { fuzzTarget } from '../../fuzz/fuzz-target.ts'

const SEED = 20261206

describe('fuzz targets, a small run each', () => {
  for (const target of TARGETS) {
    it(`${target.name}: ${target.what}`, () => {
      const result = fuzzTarget(target, { runs: 300, seed: SEED })
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
})
