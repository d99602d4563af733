/** The simulator's command line, parsed: a scenario and its knobs. */
import { parseArgs } from 'node:util'
import { SCENARIOS, SimUsageError, type ScenarioOptions } from './scenarios.ts'
import type { SignatureMode } from './signatures.ts'

/** Runs with at most this many jobs sign with real ECDSA keys unless told otherwise. */
export const ECDSA_UP_TO_JOBS = 300

function number (value: string | undefined, name: string, fallback: number | undefined, check: (n: number) => boolean = () => true): number | undefined {
  if (value === undefined) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || !check(n)) throw new SimUsageError('BAD_OPTION', `--${name} must be a valid number, got "${value}"`)
  return n
}

export function parseCommandLine (argv: string[]): { scenario: string, options: ScenarioOptions, out: string } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      jobs: { type: 'string' },
      seed: { type: 'string' },
      signatures: { type: 'string' },
      p: { type: 'string' },
      q: { type: 'string' },
      k: { type: 'string' },
      loss: { type: 'string' },
      out: { type: 'string' }
    }
  })
  const scenario = positionals[0]
  if (scenario === undefined) throw new SimUsageError('UNKNOWN_SCENARIO', `name a scenario: ${[...Object.keys(SCENARIOS), 'sweep'].join(', ')}`)
  const jobs = number(values.jobs, 'jobs', 500, n => Number.isInteger(n) && n >= 0) as number
  const signatures = (values.signatures ?? (jobs <= ECDSA_UP_TO_JOBS ? 'ecdsa' : 'fast')) as SignatureMode
  if (signatures !== 'ecdsa' && signatures !== 'fast') throw new SimUsageError('BAD_OPTION', `--signatures must be ecdsa or fast, got "${String(values.signatures)}"`)
  const unit = (n: number): boolean => n >= 0 && n <= 1
  const options: ScenarioOptions = {
    nodes: number(values.nodes, 'nodes', 100, n => Number.isInteger(n) && n > 0) as number,
    jobs,
    seed: values.seed ?? '1',
    signatures,
    p: number(values.p, 'p', undefined, unit),
    q: number(values.q, 'q', undefined, unit),
    k: number(values.k, 'k', undefined, n => n >= 0),
    loss: number(values.loss, 'loss', undefined, n => n >= 0 && n < 1)
  }
  return { scenario, options, out: values.out ?? 'sim-sweep.svg' }
}
