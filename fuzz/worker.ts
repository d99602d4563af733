/** One target in its own thread, so that the command can tell a hang from slow progress and stop it. */
import { parentPort, workerData } from 'node:worker_threads'
import { TARGETS } from './targets.ts'
import { fuzzTarget } from './fuzz-target.ts'

const { name, runs, seed } = workerData as { name: string, runs: number, seed: number }
const target = TARGETS.find(t => t.name === name)!
const result = fuzzTarget(target, { runs, seed, onProgress: (n) => { parentPort!.postMessage({ progress: n }) } })
parentPort!.postMessage({ result })
