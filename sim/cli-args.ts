/** The simulator's command line, parsed: a scenario and its knobs. */
import { parseArgs } from 'node:util'
import { ENGINES, type Engine } from './engine.ts'
import { OTHER_SCENARIOS, SCENARIOS, SimUsageError, type ScenarioOptions } from './scenarios.ts'
import type { SignatureMode } from './signatures.ts'

/** Runs with at most this many jobs sign with real ECDSA keys unless told otherwise. */
export const ECDSA_UP_TO_JOBS = 300

interface Bound {
  check: (n: number) => boolean
  /** what the check asks, as the error says it */
  wanted: string
}

const ANY: Bound = { check: () => true, wanted: 'a number' }
const COUNT: Bound = { check: n => Number.isInteger(n) && n > 0, wanted: 'a whole number above 0' }
const JOBS: Bound = { check: n => Number.isInteger(n) && n >= 0, wanted: 'a whole number, 0 or more' }
const SHARE: Bound = { check: n => n >= 0 && n <= 1, wanted: 'a share from 0 to 1' }
const MULTIPLE: Bound = { check: n => n >= 0, wanted: 'a number, 0 or more' }
const QUORUM: Bound = { check: n => Number.isInteger(n) && n >= 1 && n <= 3, wanted: 'a whole number of mediators from 1 to 3 (a shard trusts three)' }
const LOSS: Bound = { check: n => n >= 0 && n < 1, wanted: 'a share from 0 up to (not including) 1' }

function number (value: string | undefined, name: string, fallback: number | undefined, bound: Bound = ANY): number | undefined {
  if (value === undefined) return fallback
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || !bound.check(n)) throw new SimUsageError('BAD_OPTION', `--${name} must be ${bound.wanted}, got "${value}"`)
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
      engine: { type: 'string' },
      p: { type: 'string' },
      q: { type: 'string' },
      k: { type: 'string' },
      loss: { type: 'string' },
      quorum: { type: 'string' },
      out: { type: 'string' }
    }
  })
  const scenario = positionals[0]
  if (scenario === undefined) throw new SimUsageError('UNKNOWN_SCENARIO', `name a scenario: ${[...Object.keys(SCENARIOS), ...OTHER_SCENARIOS].join(', ')}`)
  const jobs = number(values.jobs, 'jobs', 500, JOBS) as number
  const signatures = (values.signatures ?? (jobs <= ECDSA_UP_TO_JOBS ? 'ecdsa' : 'fast')) as SignatureMode
  if (signatures !== 'ecdsa' && signatures !== 'fast') throw new SimUsageError('BAD_OPTION', `--signatures must be ecdsa or fast, got "${String(values.signatures)}"`)
  const engine = (values.engine ?? 'decider') as Engine
  if (!ENGINES.includes(engine)) throw new SimUsageError('BAD_OPTION', `--engine must be ${ENGINES.join(' or ')}, got "${String(values.engine)}"`)
  const options: ScenarioOptions = {
    nodes: number(values.nodes, 'nodes', 100, COUNT) as number,
    jobs,
    seed: values.seed ?? '1',
    signatures,
    engine,
    p: number(values.p, 'p', undefined, SHARE),
    q: number(values.q, 'q', undefined, SHARE),
    k: number(values.k, 'k', undefined, MULTIPLE),
    loss: number(values.loss, 'loss', undefined, LOSS),
    quorum: number(values.quorum, 'quorum', undefined, QUORUM)
  }
  return { scenario, options, out: values.out ?? 'sim-sweep.svg' }
}
