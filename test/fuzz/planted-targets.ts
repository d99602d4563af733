/** Targets with a planted allocation bug, for the harness's own tests: a worker loads them by this module's URL. */
import fc from 'fast-check'
import type { FuzzTarget } from '../../fuzz/targets.ts'

/** Grows an array, 1 MB at a time, until the heap runs out, on one input of a hundred. */
const runaway: FuzzTarget<number> = {
  name: 'runaway',
  what: 'a planted unbounded allocation',
  input: fc.integer({ min: 0, max: 99 }),
  run: (n) => {
    if (n !== 42) return
    const grown: number[][] = []
    for (;;) grown.push(new Array<number>(2 ** 17).fill(grown.length + 0.5))
  }
}

/** Allocates n MB in one call, and keeps it to the end of the call. */
const hoarder: FuzzTarget<number> = {
  name: 'hoarder',
  what: 'a planted allocation that grows with its input',
  input: fc.integer({ min: 0, max: 200 }),
  run: (n) => {
    const kept = new Float64Array(n * 2 ** 17)
    if (kept.length !== n * 2 ** 17) throw new Error('unreachable')
  }
}

const leaked: number[][] = []

/** Keeps 1 MB of every input, so that no input alone is the one that runs the heap out. */
const leaky: FuzzTarget<number> = {
  name: 'leaky',
  what: 'a planted leak across inputs',
  input: fc.nat(),
  run: () => { leaked.push(new Array<number>(2 ** 17).fill(0.5)) }
}

export const TARGETS: readonly FuzzTarget[] = [runaway as FuzzTarget, hoarder as FuzzTarget, leaky as FuzzTarget]
