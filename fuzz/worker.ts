/** One target in its own thread, so that the command can tell a hang or a runaway allocation and stop it. */
import { parentPort, workerData } from 'node:worker_threads'
import type { AsyncFuzzTarget, FuzzTarget } from './targets.ts'
import { fuzzTarget } from './fuzz-target.ts'

const { name, runs, seed, targets, current, replay } = workerData as { name: string, runs: number, seed: number, targets: string, current: SharedArrayBuffer, replay?: number }
const { TARGETS } = await import(targets) as { TARGETS: ReadonlyArray<FuzzTarget | AsyncFuzzTarget> }
const target = TARGETS.find(t => t.name === name)!
const result = await fuzzTarget(target, {
  runs: replay === undefined ? runs : 1,
  seed,
  path: replay === undefined ? undefined : String(replay - 1),
  current: new Int32Array(current),
  onProgress: (n) => { parentPort!.postMessage({ progress: n }) },
  onInput: (input) => { parentPort!.postMessage({ input }) }
})
parentPort!.postMessage({ result })
