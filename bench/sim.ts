// npm run bench -- sim: the simulator at 10,000 nodes and 100,000 jobs (honest scenario, fast
// signatures), in wall seconds on one core, and machine transitions per second; then the same
// machines stepped through XState against their deciders stepped directly (the default engine, see
// sim/engine.ts), at 10,000 nodes and 10,000 jobs, both measured in this run.
// SIM_BENCH_NODES / SIM_BENCH_JOBS run a smaller size (the metric name then says which). The CPU
// seconds of the process are reported beside the wall seconds: on a shared machine they differ.
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

function short (n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n)
}
