// npm run bench -- sim: the simulator at 10,000 nodes and 100,000 jobs (honest scenario, fast
// signatures), in wall seconds on one core, and machine transitions per second; then at 100,000
// nodes and 1,000,000 jobs in a process of its own, with that process's peak resident memory; then
// the same machines stepped through XState against their deciders stepped directly (the default
// engine, see sim/engine.ts), at 10,000 nodes and 10,000 jobs, both measured in this run.
// SIM_BENCH_NODES / SIM_BENCH_JOBS and SIM_BENCH_LARGE_NODES / SIM_BENCH_LARGE_JOBS run other
// sizes (the metric names then say which; SIM_BENCH_LARGE_JOBS=0 skips the large run). The CPU
// seconds of the process are reported beside the wall seconds: on a shared machine they differ.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Engine } from '../sim/engine.ts'
import { simulate } from '../sim/run.ts'
import { buildScenario } from '../sim/scenarios.ts'
import type { Summary } from '../sim/summary.ts'
import { report, round } from './report.ts'

const ENGINE_COMPARISON_JOBS = 10_000

interface Timed { summary: Summary, seconds: number, cpuSeconds: number }

function timedRun (nodes: number, jobs: number, engine: Engine, progress: boolean): Timed {
  const config = buildScenario('honest', { nodes, jobs, seed: '1', signatures: 'fast', engine })
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  const { summary } = simulate(config, progress
    ? { progress: (arrived, total) => { process.stderr.write(`sim: ${arrived}/${total} jobs arrived after ${((performance.now() - started) / 1000).toFixed(0)} s\n`) } }
    : {})
  const cpu = process.cpuUsage(cpuBefore)
  return { summary, seconds: (performance.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6 }
}

export async function run (): Promise<void> {
  const nodes = Number(process.env.SIM_BENCH_NODES ?? 10_000)
  const jobs = Number(process.env.SIM_BENCH_JOBS ?? 100_000)
  const { summary, seconds, cpuSeconds } = timedRun(nodes, jobs, 'decider', true)
  const size = `${short(nodes)}_nodes_${short(jobs)}_jobs`
  report({ bench: 'sim', metric: `sim_${size}_s`, value: round(seconds), unit: 's', goal: '<=60', jobs, nodes, cpu_s: round(cpuSeconds), completion: round(summary.completionRate) })
  report({ bench: 'sim', metric: 'events_per_s', value: round(summary.steps / seconds), unit: 'machine transitions/s', steps: summary.steps, per_job_ms: round(seconds * 1000 / Math.max(1, jobs)), cpu_per_job_ms: round(cpuSeconds * 1000 / Math.max(1, jobs)) })

  const largeNodes = Number(process.env.SIM_BENCH_LARGE_NODES ?? 100_000)
  const largeJobs = Number(process.env.SIM_BENCH_LARGE_JOBS ?? 1_000_000)
  if (largeJobs > 0) {
    const large = await childRun(largeNodes, largeJobs)
    const largeSize = `${short(largeNodes)}_nodes_${short(largeJobs)}_jobs`
    report({ bench: 'sim', metric: `sim_${largeSize}_s`, value: round(large.seconds), unit: 's', goal: '<=600', jobs: largeJobs, nodes: largeNodes, cpu_s: round(large.cpuSeconds), steps: large.steps, completion: round(large.completion) })
    report({ bench: 'sim', metric: `sim_${largeSize}_peak_rss_gb`, value: round(large.peakRssBytes / 2 ** 30), unit: 'GiB', goal: '<=12' })
  }

  const smaller = Math.min(jobs, ENGINE_COMPARISON_JOBS)
  const decider = timedRun(nodes, smaller, 'decider', false)
  const xstate = timedRun(nodes, smaller, 'xstate', false)
  if (decider.summary.steps !== xstate.summary.steps) throw new Error(`the engines took different steps: ${decider.summary.steps} and ${xstate.summary.steps}`)
  report({
    bench: 'sim',
    metric: `engine_decider_vs_xstate_${short(nodes)}_nodes_${short(smaller)}_jobs_s`,
    value: round(decider.seconds),
    unit: 's',
    baseline: round(xstate.seconds),
    ratio: round(decider.seconds / xstate.seconds),
    steps: decider.summary.steps
  })
}

interface ChildRun { seconds: number, cpuSeconds: number, steps: number, completion: number, peakRssBytes: number }

/** A run in a process of its own, so that its peak memory is its own; its progress goes to stderr. */
async function childRun (nodes: number, jobs: number): Promise<ChildRun> {
  const script = fileURLToPath(new URL('./sim-child.ts', import.meta.url))
  // the heap may grow past V8's default limit; the figure says how far it went. A young generation
  // of 512 MB from the start: at this size a step's state mostly lives for seconds of simulated
  // time, and in 64 MB most of it was promoted, then collected from a heap of gigabytes (sim/README.md)
  const flags = ['--min-semi-space-size=512', '--max-semi-space-size=512', '--no-allocation-site-pretenuring', '--max-old-space-size=16384']
  const child = spawn(process.execPath, ['--import', 'tsx', ...flags, script, String(nodes), String(jobs)], {
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  const code = await new Promise<number | null>((resolve, reject) => { child.on('error', reject); child.on('exit', resolve) })
  if (code !== 0) throw new Error(`the simulator at ${nodes} nodes and ${jobs} jobs exited with ${String(code)}`)
  return JSON.parse(out.trim().split('\n').pop() as string) as ChildRun
}

function short (n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}m`
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n)
}
