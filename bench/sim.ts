// npm run bench -- sim: the simulator at 10,000 nodes and 100,000 jobs (honest scenario, fast
// signatures), in wall seconds on one core, and machine transitions per second.
// SIM_BENCH_NODES / SIM_BENCH_JOBS run a smaller size (the metric name then says which). The CPU
// seconds of the process are reported beside the wall seconds: on a shared machine they differ.
import { simulate } from '../sim/run.ts'
import { buildScenario } from '../sim/scenarios.ts'
import { report, round } from './report.ts'

export async function run (): Promise<void> {
  const nodes = Number(process.env.SIM_BENCH_NODES ?? 10_000)
  const jobs = Number(process.env.SIM_BENCH_JOBS ?? 100_000)
  const config = buildScenario('honest', { nodes, jobs, seed: '1', signatures: 'fast' })
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  const { summary } = simulate(config, {
    progress: (arrived, total) => { process.stderr.write(`sim: ${arrived}/${total} jobs arrived after ${((performance.now() - started) / 1000).toFixed(0)} s\n`) }
  })
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6
  const size = `${short(nodes)}_nodes_${short(jobs)}_jobs`
  report({ bench: 'sim', metric: `sim_${size}_s`, value: round(seconds), unit: 's', goal: '<=60', jobs, nodes, cpu_s: round(cpuSeconds), completion: round(summary.completionRate) })
  report({ bench: 'sim', metric: 'events_per_s', value: round(summary.steps / seconds), unit: 'machine transitions/s', steps: summary.steps, per_job_ms: round(seconds * 1000 / Math.max(1, jobs)), cpu_per_job_ms: round(cpuSeconds * 1000 / Math.max(1, jobs)) })
}

function short (n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n)
}
