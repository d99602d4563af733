// One simulator run in a process of its own, for bench/sim.ts: its wall and CPU seconds and its
// peak resident memory, printed as one JSON line (progress on stderr).
// Usage: node --import tsx bench/sim-child.ts <nodes> <jobs>
import { simulate } from '../sim/run.ts'
import { buildScenario } from '../sim/scenarios.ts'

const nodes = Number(process.argv[2])
const jobs = Number(process.argv[3])
const config = buildScenario('honest', { nodes, jobs, seed: '1', signatures: 'fast', engine: 'decider' })
const started = performance.now()
const cpuBefore = process.cpuUsage()
const { summary } = simulate(config, {
  progress: (arrived, total) => { process.stderr.write(`sim: ${arrived}/${total} jobs arrived after ${((performance.now() - started) / 1000).toFixed(0)} s\n`) }
})
const cpu = process.cpuUsage(cpuBefore)
process.stdout.write(JSON.stringify({
  seconds: (performance.now() - started) / 1000,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  steps: summary.steps,
  completion: summary.completionRate,
  peakRssBytes: process.resourceUsage().maxRSS * 1024
}) + '\n')
