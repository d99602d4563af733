/** Runs one target for a number of inputs with fast-check, which shrinks a failing input to a small one. */
import { getHeapStatistics, setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import fc from 'fast-check'
import { Finding, type AsyncFuzzTarget, type FuzzTarget } from './targets.ts'

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
  /** slot 0 is set to the number of each input (1 for the first) before it runs, for a thread that watches this one */
  current?: Int32Array
  /** replays the input at this fast-check path, and only that one when runs is 1 */
  path?: string
  /** told each input, as fast-check prints it, before it runs: every input when replaying a path, else from the first failure on */
  onInput?: (input: string) => void
}

/**
 * One call of a target may grow the heap by this much, plus ALLOC_PER_CHAR bytes a character of its
 * input as fast-check prints it. Growth is V8's used heap plus ArrayBuffer memory after the call less
 * before it (two reads of about 0.2 µs). A collection during the call can only lower it, so growth
 * over the bound is that much allocated by the call, never an effect of when the GC ran; short-lived
 * garbage alone stays under it, the young generation (YOUNG_MB, in-worker.ts) being smaller. What a
 * collection hides, and an input that never returns, the worker's heap cap catches when unbounded.
 */
export const ALLOC_BYTES = 64 << 20
export const ALLOC_PER_CHAR = 1000

function heapInUse (): number {
  const heap = getHeapStatistics()
  return heap.used_heap_size + heap.external_memory
}

/**
 * V8's full collection, without --expose-gc on the command line (which a worker cannot be given).
 * Twice: the ArrayBuffers one frees are counted off concurrently, else during the next call.
 */
function fullCollection (): () => void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  return () => { gc(); gc() }
}

function mb (bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1)
}

export function fuzzTarget (target: FuzzTarget, options: FuzzOptions): FuzzResult
export function fuzzTarget (target: AsyncFuzzTarget, options: FuzzOptions): Promise<FuzzResult>
export function fuzzTarget (target: FuzzTarget | AsyncFuzzTarget, options: FuzzOptions): FuzzResult | Promise<FuzzResult>
export function fuzzTarget (target: FuzzTarget | AsyncFuzzTarget, options: FuzzOptions): FuzzResult | Promise<FuzzResult> {
  const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
  const every = options.every ?? 5000
  let runs = 0
  let failing = options.path !== undefined
  // While an allocation finding shrinks, every input starts from a collected heap: a collection of
  // earlier inputs' garbage during the call would lower its growth, and shrink it by chance.
  let collect: (() => void) | undefined
  /** before an input runs: the heap in use */
  function starting (input: unknown): number {
    runs++
    if (options.current !== undefined) Atomics.store(options.current, 0, runs)
    if (runs % every === 0) options.onProgress?.(runs)
    if (failing) options.onInput?.(fc.stringify(input).slice(0, 2000))
    collect?.()
    return heapInUse()
  }
  function ran (input: unknown, before: number): void {
    const grown = heapInUse() - before
    if (grown <= ALLOC_BYTES) return
    const size = fc.stringify(input).length
    const bound = ALLOC_BYTES + ALLOC_PER_CHAR * size
    if (grown > bound) throw new Finding('allocation', `one call on an input of ${size} characters grew the heap by ${mb(grown)} MB, over the bound of ${mb(bound)} MB`)
  }
  function failed (err: unknown): never {
    if (err instanceof Finding && err.kind === 'allocation') collect ??= fullCollection()
    failing = true
    throw err
  }
  const start = performance.now()
  function result (details: fc.RunDetails<[unknown]>): FuzzResult {
    const result: FuzzResult = { target: target.name, runs: details.numRuns, seed, ms: Math.round(performance.now() - start) }
    if (details.failed) {
      const err = details.errorInstance
      const finding = err instanceof Finding ? err : new Finding('crash', `the property itself threw: ${String((err as Error | undefined)?.message ?? err)}`)
      result.finding = { kind: finding.kind, message: finding.message, input: fc.stringify(details.counterexample?.[0]).slice(0, 2000), path: details.counterexamplePath ?? '' }
    }
    return result
  }
  const parameters = { numRuns: options.runs, seed, path: options.path }
  if (target.async === true) {
    const run = target.run
    return fc.check(fc.asyncProperty(target.input, async (input) => {
      const before = starting(input)
      try {
        await run(input)
        ran(input, before)
      } catch (err) {
        failed(err)
      }
    }), parameters).then(result)
  }
  const run = target.run
  return result(fc.check(fc.property(target.input, (input) => {
    const before = starting(input)
    try {
      run(input)
      ran(input, before)
    } catch (err) {
      failed(err)
    }
  }), parameters))
}
