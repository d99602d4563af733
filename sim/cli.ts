/**
 * npm run sim -- <scenario> [--nodes N] [--jobs M] [--seed S] [--signatures ecdsa|fast]
 *                           [--engine decider|xstate] [--p P] [--q Q] [--k K] [--loss L] [--out FILE]
 * Prints the run's table on stdout (deterministic for a scenario and seed); `sweep` also writes an SVG;
 * `deterrence` prints the default check rate, what cheating earns around it, and one line of JSON.
 */
import '../src/polyfills.ts'
import { writeFileSync } from 'node:fs'
import { simulate } from './run.ts'
import { parseCommandLine } from './cli-args.ts'
import { buildScenario, SimUsageError } from './scenarios.ts'
import { deterrenceJson, deterrenceReport, formatDeterrence } from './deterrence.ts'
import { formatSweep, renderSweepSvg, sweep } from './sweep.ts'
import { formatTable } from './table.ts'

/** runs of this many jobs or more report their progress on stderr */
const LONG_RUN_JOBS = 10_000

function main (): void {
  const { scenario, options, out } = parseCommandLine(process.argv.slice(2))
  const started = performance.now()
  const seconds = (): string => ((performance.now() - started) / 1000).toFixed(0)
  if (scenario === 'deterrence') {
    // closed form: no run, and none of the run's options apply
    const report = deterrenceReport()
    process.stdout.write(formatDeterrence(report))
    process.stdout.write(deterrenceJson(report))
  } else if (scenario === 'sweep') {
    const result = sweep(options, undefined, undefined, (done, total, point) => {
      process.stderr.write(`sweep: ${done}/${total} points (k ${point.k}, p ${point.p}) after ${seconds()} s\n`)
    })
    writeFileSync(out, renderSweepSvg(result))
    process.stdout.write(formatSweep(result))
    process.stdout.write(`plot written to ${out}\n`)
  } else {
    // a long run says how far it got (the table, on stdout, stays the same bytes)
    const progress = options.jobs >= LONG_RUN_JOBS
      ? (arrived: number, total: number) => { process.stderr.write(`sim: ${arrived}/${total} jobs arrived after ${seconds()} s\n`) }
      : undefined
    const { summary } = simulate(buildScenario(scenario, options), { progress })
    process.stdout.write(`signatures ${options.signatures}\n`)
    process.stdout.write(formatTable(summary))
  }
  // the engine changes how fast a run goes, never what it prints
  process.stderr.write(`wall time ${((performance.now() - started) / 1000).toFixed(1)} s (engine ${options.engine ?? 'decider'})\n`)
}

try {
  main()
} catch (err) {
  if (err instanceof SimUsageError || (err as Error).name === 'TypeError' && (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
    process.stderr.write(`sim: ${(err as Error).message}\n`)
    process.exitCode = 2
  } else {
    throw err
  }
}
