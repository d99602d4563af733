/**
 * `npm run fuzz -- [--runs N] [--target name] [--seed S]`: feeds generated and mutated inputs to
 * every codec, validator and decoder a peer or a file can reach (fuzz/targets.ts) and prints one
 * line a target. Exits 1 on any crash, hang, slow input or fast-path disagreement, naming the
 * smallest input found and the seed that replays it; 2 on bad usage.
 */
import { Worker } from 'node:worker_threads'
import { parseArgs } from 'node:util'
import { TARGETS } from './targets.ts'
import type { FuzzResult } from './fuzz-target.ts'

/** A target that reports no progress for this long is hung. */
const HANG_MS = 60_000

function usage (message: string): never {
  process.stderr.write(`fuzz: ${message}\nusage: npm run fuzz -- [--runs N] [--target ${TARGETS.map(t => t.name).join('|')}] [--seed S]\n`)
  process.exit(2)
}

let values: { runs?: string, target?: string, seed?: string }
try {
  values = parseArgs({ options: { runs: { type: 'string' }, target: { type: 'string' }, seed: { type: 'string' } } }).values
} catch (err) {
  usage((err as Error).message)
}
const runs = Number(values.runs ?? 10_000)
if (!Number.isSafeInteger(runs) || runs < 1) usage(`--runs is a whole number of inputs, not ${values.runs}`)
const seed = values.seed === undefined ? (Date.now() & 0x7fffffff) : Number(values.seed)
if (!Number.isSafeInteger(seed)) usage(`--seed is a whole number, not ${values.seed}`)
const chosen = values.target === undefined ? TARGETS : TARGETS.filter(t => t.name === values.target)
if (chosen.length === 0) usage(`no target ${values.target}`)

function runInWorker (name: string): Promise<FuzzResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: { name, runs, seed } })
    let done = 0
    let watchdog = setTimeout(hung, HANG_MS)
    function hung (): void {
      void worker.terminate()
      resolve({ target: name, runs: done, seed, ms: 0, finding: { kind: 'slow', message: `no progress for ${HANG_MS / 1000} s after ${done} inputs: a hang`, input: '(not known: replay the seed)', path: '' } })
    }
    worker.on('message', (m: { progress?: number, result?: FuzzResult }) => {
      clearTimeout(watchdog)
      if (m.result !== undefined) {
        resolve(m.result)
        void worker.terminate()
        return
      }
      done = m.progress ?? done
      process.stderr.write(`  ${name}: ${done} inputs\r`)
      watchdog = setTimeout(hung, HANG_MS)
    })
    worker.on('error', (err) => { clearTimeout(watchdog); reject(err) })
  })
}

let failed = 0
for (const target of chosen) {
  const r = await runInWorker(target.name)
  const ok = r.finding === undefined
  if (!ok) failed++
  console.log(`fuzz ${r.target}: ${r.runs} inputs, ${ok ? 'no finding' : `${r.finding!.kind.toUpperCase()}: ${r.finding!.message}`} (${(r.ms / 1000).toFixed(1)} s, seed ${r.seed})`)
  if (!ok) console.log(`  smallest input: ${r.finding!.input}\n  replay: npm run fuzz -- --target ${r.target} --seed ${r.seed} --runs ${runs}${r.finding!.path === '' ? '' : ` (path ${r.finding!.path})`}`)
}
console.log(`fuzz: ${chosen.length} target(s), ${runs} inputs each, ${failed === 0 ? 'no finding' : `${failed} with a finding`}`)
process.exitCode = failed === 0 ? 0 : 1
