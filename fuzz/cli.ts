/**
 * `npm run fuzz -- [--runs N] [--target name] [--seed S]`: feeds generated and mutated inputs to
 * every codec, validator and decoder a peer or a file can reach (fuzz/targets.ts) and prints one
 * line a target. Exits 1 on any crash, hang, slow input, unbounded allocation or fast-path
 * disagreement, naming the smallest input found and the seed that replays it; 2 on bad usage.
 */
import { parseArgs } from 'node:util'
import { TARGETS } from './targets.ts'
import { runInWorker } from './in-worker.ts'

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

let failed = 0
for (const target of chosen) {
  const r = await runInWorker({ name: target.name, runs, seed, onProgress: (n) => { process.stderr.write(`  ${target.name}: ${n} inputs\r`) } })
  const ok = r.finding === undefined
  if (!ok) failed++
  console.log(`fuzz ${r.target}: ${r.runs} inputs, ${ok ? 'no finding' : `${r.finding!.kind.toUpperCase()}: ${r.finding!.message}`} (${(r.ms / 1000).toFixed(1)} s, seed ${r.seed})`)
  if (!ok) console.log(`  smallest input: ${r.finding!.input}\n  replay: npm run fuzz -- --target ${r.target} --seed ${r.seed} --runs ${runs}${r.finding!.path === '' ? '' : ` (path ${r.finding!.path})`}`)
}
console.log(`fuzz: ${chosen.length} target(s), ${runs} inputs each, ${failed === 0 ? 'no finding' : `${failed} with a finding`}`)
process.exitCode = failed === 0 ? 0 : 1
