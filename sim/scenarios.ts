/** The named scenarios: each turns the command-line knobs into a full run configuration. */
import {
  defaultEconomics, defaultTiming, HONEST_MEDIATOR, HONEST_PROVIDER,
  type CreatorProfile, type MediatorProfile, type Population, type ProviderProfile, type SimConfig
} from './config.ts'
import { DEFAULT_NETWORK, type Partition } from './network.ts'
import { Prng } from './prng.ts'
import type { Engine } from './engine.ts'
import type { SignatureMode } from './signatures.ts'

export interface ScenarioOptions {
  nodes: number
  jobs: number
  seed: string
  signatures: SignatureMode
  /** how the role machines are stepped (see engine.ts); `decider` unless set */
  engine?: Engine
  /** the job creators' check rate */
  p?: number
  /** the share of participants that cheat or play a strategy (providers or creators, by scenario) */
  q?: number
  /** collateral multiple */
  k?: number
  /** message loss rate */
  loss?: number
  /** the matching verdicts a challenge needs: 1, one judge drawn; k > 1, k of the deal's mediators */
  quorum?: number
}

export class SimUsageError extends Error {
  override readonly name = 'SimUsageError'
  constructor (readonly code: 'UNKNOWN_SCENARIO' | 'BAD_OPTION' | 'TOO_SMALL', message: string) {
    super(message)
  }
}

export function population (nodes: number, minSolvers = 1, minMediators = 2): Population {
  const solvers = Math.max(minSolvers, Math.round(nodes / 500))
  const mediators = Math.max(minMediators, Math.round(nodes / 200))
  const rest = nodes - solvers - mediators
  if (rest < 2) throw new SimUsageError('TOO_SMALL', `${nodes} nodes leave no room for providers and job creators (need at least ${solvers + mediators + 2})`)
  const providers = Math.ceil(rest / 2)
  return { solvers, mediators, providers, creators: rest - providers }
}

/** Sizes the arrival window so that providers are busy about half the time. */
function baseConfig (name: string, o: ScenarioOptions, minSolvers = 1): SimConfig {
  // a quorum of k needs k honest mediators beside one that may collude
  const pop = population(o.nodes, minSolvers, (o.quorum ?? 1) > 1 ? (o.quorum ?? 1) + 1 : 2)
  const timing = defaultTiming()
  const meanJob = timing.minJobMs + timing.meanJobExtraMs
  const slots = 1
  timing.arrivalWindowMs = Math.max(60_000, Math.round(o.jobs * meanJob / (pop.providers * slots * 0.5)))
  timing.horizonMs = timing.arrivalWindowMs + timing.matchWindowMs + timing.proposalTtlMs + timing.submitWithinMs +
    timing.judgeWithinMs + timing.mediateWithinMs + 600_000
  const economics = defaultEconomics()
  if (o.k !== undefined) economics.collateralMultiple = o.k
  const checkRate = o.p ?? 0.1
  return {
    scenario: name,
    seed: o.seed,
    signatures: o.signatures,
    engine: o.engine ?? 'decider',
    population: pop,
    jobs: o.jobs,
    slotsPerProvider: slots,
    mediatorCapacity: 10_000,
    solversPerShard: 1,
    quorum: o.quorum ?? 1,
    economics,
    timing,
    network: { ...DEFAULT_NETWORK, loss: o.loss ?? 0, partitions: [] },
    provider: () => HONEST_PROVIDER,
    creator: () => ({ label: 'job-creator', checkRate, challengesHonest: false, wireChallenges: false }),
    mediator: () => HONEST_MEDIATOR,
    offline: new Map()
  }
}

const providerRange = (c: SimConfig): [number, number] => {
  const start = c.population.solvers + c.population.mediators
  return [start, start + c.population.providers]
}

const creatorRange = (c: SimConfig): [number, number] => {
  const [, start] = providerRange(c)
  return [start, start + c.population.creators]
}

/** A deterministic choice of a share of the nodes in a range, from the seed. */
function chosen (c: SimConfig, [from, to]: [number, number], share: number, label: string, filter: (index: number) => boolean = () => true): Set<number> {
  const rng = new Prng(`${c.seed}:${label}`)
  const out = new Set<number>()
  for (let i = from; i < to; i++) if (filter(i) && rng.chance(share)) out.add(i)
  return out
}

const chosenProviders = (c: SimConfig, share: number, label: string, filter?: (index: number) => boolean): Set<number> => chosen(c, providerRange(c), share, label, filter)
const chosenCreators = (c: SimConfig, share: number, label: string): Set<number> => chosen(c, creatorRange(c), share, label)

function cheater (label = 'resource-provider (cheating)'): ProviderProfile {
  return { ...HONEST_PROVIDER, label, cheatRate: 1 }
}

/** The providers in `chosen` play `profile`; the others keep theirs. */
function providersPlaying (c: SimConfig, chosen: ReadonlySet<number>, profile: ProviderProfile): void {
  const others = c.provider
  c.provider = (i, shard) => chosen.has(i) ? profile : others(i, shard)
}

/** The creators in `chosen` play `profile`; the others keep theirs. */
function creatorsPlaying (c: SimConfig, chosen: ReadonlySet<number>, profile: CreatorProfile): void {
  const others = c.creator
  c.creator = (i, shard) => chosen.has(i) ? profile : others(i, shard)
}

export const SCENARIOS: Record<string, { about: string, build: (o: ScenarioOptions) => SimConfig }> = {
  honest: {
    about: 'everyone honest: the baseline',
    build: o => baseConfig('honest', o)
  },
  cheating: {
    about: 'a share q of providers make up results; creators check at rate p; collateral k x price',
    build: o => {
      const c = baseConfig('cheating', { ...o, p: o.p ?? 0.2 })
      const cheats = chosenProviders(c, o.q ?? 0.2, 'cheaters')
      c.provider = i => cheats.has(i) ? cheater() : HONEST_PROVIDER
      return c
    }
  },
  collusion: {
    about: 'cheating providers of shard 0 collude with the mediator that shard prefers, which judges only the challenges the chain draws it for (with --quorum 2, the two honest mediators outvote it)',
    build: o => {
      const c = baseConfig('collusion', { ...o, p: o.p ?? 0.5 })
      const shards = Math.max(1, c.population.solvers)
      const [from] = providerRange(c)
      const cheats = chosenProviders(c, o.q ?? 0.5, 'colluders', i => (i - from) % shards === 0)
      const colluder = c.population.solvers // the first mediator: shard 0's first choice
      c.provider = i => cheats.has(i) ? cheater('resource-provider (colluding)') : HONEST_PROVIDER
      c.mediator = (i): MediatorProfile => i === colluder ? { label: 'mediator (colluding)', colludesWith: cheats } : HONEST_MEDIATOR
      return c
    }
  },
  'silent-mediator': {
    about: 'a share q of providers make up results, creators check at rate p, and the mediator shard 0 prefers takes its cases and never answers: its stake pays the parties',
    build: o => {
      const c = baseConfig('silent-mediator', { ...o, p: o.p ?? 0.5 })
      const cheats = chosenProviders(c, o.q ?? 0.2, 'cheaters')
      const silent = c.population.solvers // the first mediator: shard 0's first choice
      c.provider = i => cheats.has(i) ? cheater() : HONEST_PROVIDER
      c.mediator = (i): MediatorProfile => i === silent ? { label: 'mediator (silent)', colludesWith: new Set(), silent: true } : HONEST_MEDIATOR
      return c
    }
  },
  lazy: {
    about: 'some providers take deals and never run them; others go offline mid-run (deadlines)',
    build: o => {
      const c = baseConfig('lazy', o)
      const lazy = chosenProviders(c, o.q ?? 0.1, 'lazy')
      const away = chosenProviders(c, 0.1, 'offline', i => !lazy.has(i))
      const t = c.timing
      const from = t.t0 + Math.round(t.arrivalWindowMs * 0.3)
      for (const i of away) c.offline.set(i, [[from, from + t.submitWithinMs * 2]])
      c.provider = (i): ProviderProfile => lazy.has(i)
        ? { ...HONEST_PROVIDER, label: 'resource-provider (lazy)', lazy: true }
        : away.has(i) ? { ...HONEST_PROVIDER, label: 'resource-provider (offline)' } : HONEST_PROVIDER
      return c
    }
  },
  challengers: {
    about: 'some job creators challenge honest results (they always "check" and claim a mismatch)',
    build: o => {
      const c = baseConfig('challengers', o)
      creatorsPlaying(c, chosenCreators(c, o.q ?? 0.1, 'challengers'), { label: 'job-creator (challenging)', checkRate: 1, challengesHonest: true, wireChallenges: false })
      return c
    }
  },
  churn: {
    about: 'providers and creators drop off and come back at random',
    build: o => {
      const c = baseConfig('churn', o)
      const rng = new Prng(`${c.seed}:churn`)
      const t = c.timing
      const first = c.population.solvers + c.population.mediators
      const total = first + c.population.providers + c.population.creators
      for (let i = first; i < total; i++) {
        if (!rng.chance(o.q ?? 0.3)) continue
        const windows: Array<[number, number]> = []
        let at = t.t0 + rng.exponential(t.arrivalWindowMs / 2)
        for (let k = 0; k < 3 && at < t.t0 + t.arrivalWindowMs; k++) {
          const end = at + rng.between(30_000, 180_000)
          windows.push([Math.round(at), Math.round(end)])
          at = end + rng.exponential(t.arrivalWindowMs / 2)
        }
        if (windows.length > 0) c.offline.set(i, windows)
      }
      return c
    }
  },
  partition: {
    about: 'a third of providers and creators is cut off from the rest for two minutes',
    build: o => {
      const c = baseConfig('partition', o)
      const rng = new Prng(`${c.seed}:partition`)
      const t = c.timing
      const first = c.population.solvers + c.population.mediators
      const total = first + c.population.providers + c.population.creators
      const side = new Set<number>()
      for (let i = first; i < total; i++) if (rng.chance(o.q ?? 0.33)) side.add(i)
      const from = t.t0 + Math.round(t.arrivalWindowMs * 0.4)
      const partition: Partition = { from, to: from + 120_000, side }
      c.network.partitions = [partition]
      return c
    }
  },
  solvers: {
    about: 'solvers fail: each shard trusts two solvers, and the first solver crashes for good a fifth of the way in',
    build: o => {
      const c = baseConfig('solvers', o, 2)
      c.solversPerShard = 2
      const t = c.timing
      c.offline.set(0, [[t.t0 + Math.round(t.arrivalWindowMs * 0.2), Number.MAX_SAFE_INTEGER]])
      return c
    }
  },
  lossy: {
    about: 'the network loses messages (default 1%)',
    build: o => baseConfig('lossy', { ...o, loss: o.loss ?? 0.01 })
  },
  'wire-challengers': {
    about: 'a share q of job creators challenge every result over the wire to the provider only, then claim TimeoutSubmit',
    build: o => {
      const c = baseConfig('wire-challengers', o)
      creatorsPlaying(c, chosenCreators(c, o.q ?? 0.1, 'wire-challengers'), { label: 'job-creator (wire-challenging)', checkRate: 1, challengesHonest: true, wireChallenges: true })
      return c
    }
  },
  'accept-then-claim': {
    about: 'a share q of providers commit results on chain at once, never settle an acceptance, and claim TimeoutJudge',
    build: o => {
      const c = baseConfig('accept-then-claim', o)
      providersPlaying(c, chosenProviders(c, o.q ?? 0.1, 'accept-then-claim'), { ...HONEST_PROVIDER, label: 'resource-provider (accept-then-claim)', acceptThenClaim: true })
      return c
    }
  },
  equivocators: {
    about: 'a share q of providers commit the honest CID on chain and send the job creator a made-up one',
    build: o => {
      const c = baseConfig('equivocators', o)
      providersPlaying(c, chosenProviders(c, o.q ?? 0.1, 'equivocators'), { ...HONEST_PROVIDER, label: 'resource-provider (equivocating)', equivocates: true })
      return c
    }
  }
}

/** Scenarios the command line runs itself, not one simulation each: not in SCENARIOS. */
export const OTHER_SCENARIOS = ['sweep', 'deterrence'] as const

export function buildScenario (name: string, o: ScenarioOptions): SimConfig {
  const s = SCENARIOS[name]
  if (s === undefined) throw new SimUsageError('UNKNOWN_SCENARIO', `unknown scenario "${name}" (scenarios: ${[...Object.keys(SCENARIOS), ...OTHER_SCENARIOS].join(', ')})`)
  return s.build(o)
}
