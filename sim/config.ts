/** What a simulation run is made of: its population, behaviours, economics, timing and network. */
import type { Engine } from './engine.ts'
import type { NetworkOptions } from './network.ts'
import type { SignatureMode } from './signatures.ts'

export interface ProviderProfile {
  label: string
  /** probability that a job's results are made up instead of computed */
  cheatRate: number
  /** accepts deals and never runs them */
  lazy: boolean
  /**
   * commits its results on chain as soon as it has them, never settles an acceptance, and claims
   * TimeoutJudge after the judge deadline: the creator's timeout collateral, if the creator stays silent
   */
  acceptThenClaim: boolean
  /**
   * runs the job and commits the honest CID on chain at once, but tells the job creator a made-up
   * one: it signs two results for one deal
   */
  equivocates: boolean
}

export interface CreatorProfile {
  label: string
  /** the check rate p the job creator's machine is given */
  checkRate: number
  /** its verification claims a different CID, so it challenges honest results */
  challengesHonest: boolean
  /**
   * tells only the provider of its challenge (not the mediator, not the chain), then claims
   * TimeoutSubmit after the submit deadline, as if no results had come
   */
  wireChallenges: boolean
}

export interface MediatorProfile {
  label: string
  /** providers (node indices) whose results it vouches for without comparing */
  colludesWith: ReadonlySet<number>
  /** takes every case and never gives a verdict: its stake pays the parties (TimeoutMediate) */
  silent?: boolean
}

export interface Population {
  solvers: number
  mediators: number
  providers: number
  creators: number
}

export interface Economics {
  price: bigint
  /** what running one job costs whoever runs it (provider, checking creator, mediator) */
  computeCost: bigint
  solverFee: bigint
  mediatorFee: bigint
  /** k: the provider's results collateral is k times the price */
  collateralMultiple: number
  providerTimeoutCollateral: bigint
  creatorTimeoutCollateral: bigint
  deposit: bigint
  /** what one unit of gas costs the sender of a transaction, in tokens: a refused transaction costs too */
  gasPrice: number
}

export interface Timing {
  t0: number
  /** jobs arrive as a Poisson process over this window */
  arrivalWindowMs: number
  matchWindowMs: number
  submitWithinMs: number
  judgeWithinMs: number
  mediateWithinMs: number
  proposalTtlMs: number
  offerTtlMs: number
  /** a job runs for minJobMs plus an exponential with this mean */
  minJobMs: number
  meanJobExtraMs: number
  fetchMs: number
  blockTimeMs: number
  /** the simulation stops here even if something is still pending */
  horizonMs: number
}

export interface SimConfig {
  scenario: string
  seed: string
  signatures: SignatureMode
  /** how the role machines are stepped (see engine.ts) */
  engine: Engine
  population: Population
  jobs: number
  slotsPerProvider: number
  mediatorCapacity: number
  /** how many solvers each shard's jobs and offers trust */
  solversPerShard: number
  /** the matching verdicts a challenge of each job's deal needs (1: the one judge the chain draws) */
  quorum: number
  economics: Economics
  timing: Timing
  network: NetworkOptions
  provider: (index: number, shard: number) => ProviderProfile
  creator: (index: number, shard: number) => CreatorProfile
  mediator: (index: number) => MediatorProfile
  /** offline windows [from, to) per node index (solvers, mediators, providers, creators in that order) */
  offline: Map<number, Array<[number, number]>>
}

export const HONEST_PROVIDER: ProviderProfile = { label: 'resource-provider', cheatRate: 0, lazy: false, acceptThenClaim: false, equivocates: false }
export const HONEST_MEDIATOR: MediatorProfile = { label: 'mediator', colludesWith: new Set() }

export function defaultEconomics (): Economics {
  return {
    price: 1_000_000n,
    computeCost: 500_000n,
    solverFee: 10_000n,
    mediatorFee: 600_000n,
    collateralMultiple: 2,
    providerTimeoutCollateral: 1_000_000n,
    creatorTimeoutCollateral: 500_000n,
    deposit: 10n ** 15n,
    // a job's share of a batched settlement (57,913 gas) costs about 0.6% of its price
    gasPrice: 0.1
  }
}

export function defaultTiming (): Timing {
  return {
    // the simulated clock starts near the epoch: every time a run reaches stays below 2^30 ms, an
    // integer V8 keeps inside the object that holds it (a time of today's clock is a number object
    // of its own, and a deal carries a dozen)
    t0: 1_000_000,
    arrivalWindowMs: 600_000,
    matchWindowMs: 60_000,
    submitWithinMs: 300_000,
    judgeWithinMs: 120_000,
    mediateWithinMs: 300_000,
    proposalTtlMs: 15_000,
    offerTtlMs: 600_000,
    minJobMs: 5_000,
    meanJobExtraMs: 25_000,
    fetchMs: 500,
    blockTimeMs: 2_000,
    horizonMs: 0
  }
}

/** The results collateral a provider offers: k times the price. */
export function resultsCollateral (e: Economics): bigint {
  return e.price * BigInt(Math.round(e.collateralMultiple * 1000)) / 1000n
}
