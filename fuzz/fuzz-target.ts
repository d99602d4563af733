/** Runs one target for a number of inputs with fast-check, which shrinks a failing input to a small one. */
import fc from 'fast-check'
import { Finding, type FuzzTarget } from './targets.ts'

export interface FuzzResult {
  target: string
  runs: number
  seed: number
  ms: number
  /** the first finding, on the smallest input fast-check shrank it to */
  finding?: { kind: Finding['kind'], message: string, input: string, path: string }
}

export interface FuzzOptions {
  runs: number
  seed?: number
  /** told every `every` inputs of how many ran so far */
  onProgress?: (runs: number) => void
  every?: number
}

export function fuzzTarget (target: FuzzTarget, options: FuzzOptions): FuzzResult {
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
  const every = options.every ?? 5000
  let runs = 0
  const start = performance.now()
  const details = fc.check(fc.property(target.input, (input) => {
    runs++
    if (runs % every === 0) options.onProgress?.(runs)
    target.run(input)
  }), { numRuns: options.runs, seed })
  const result: FuzzResult = { target: target.name, runs: details.numRuns, seed, ms: Math.round(performance.now() - start) }
  if (details.failed) {
    const err = details.errorInstance
    const finding = err instanceof Finding ? err : new Finding('crash', `the property itself threw: ${String((err as Error | undefined)?.message ?? err)}`)
    result.finding = { kind: finding.kind, message: finding.message, input: fc.stringify(details.counterexample?.[0]).slice(0, 2000), path: details.counterexamplePath ?? '' }
  }
  return result
}
