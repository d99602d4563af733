import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { loadModule, type LoadedModule } from '../executor/modules/load.ts'
import type { JobOffer } from '../protocols/messages/schemas.ts'
import { gossipTopic } from '../protocols/mesh/topics.ts'
import { addressOfPeer } from '../protocols/mesh/peer-identity.ts'
import type { JobCreatorContext } from '../state-machines/job-creator.machine.ts'
import { LilypadNode } from './node.ts'
import { DEFAULTS } from './settings.ts'

export type JobPhase = 'offered' | 'matched' | 'agreed' | 'results' | 'verifying' | 'verified' | 'settled'

export interface RunJobOptions {
  module: string
  inputs: Record<string, string>
  dataDir: string
  privateKey: string
  network: string
  rpcUrl: string
  settlementAddress: string
  bootstrap: string[]
  solvers: string[]
  mediators: string[]
  mirrors?: Record<string, string>
  /** probability of re-running the job to check the results (MODiCuM's p) */
  checkRate?: number
  maxPrice?: bigint
  /** how long to look for a match before giving up */
  matchWithinMs?: number
  submitWithinMs?: number
  /** how long after the submit deadline the results may be judged (default 60 s) */
  judgeWithinMs?: number
  /** how long after the judge deadline a mediator may take (default 120 s) */
  mediateWithinMs?: number
  /** test networks only: check every result and challenge it, honest or not (recorded in the log) */
  challengeHonestResults?: boolean
  onPhase?: (phase: JobPhase, detail: Record<string, unknown>) => void
}

export interface JobResult {
  outcome: string
  dealId: string | null
  resultsCid: string | null
  resultsDir: string | null
  stdout: string | null
  checked: boolean | null
  settled: boolean
  provider: string | null
  timings: Partial<Record<JobPhase, number>>
}

export class JobError extends Error {
  override readonly name = 'JobError'
  constructor (readonly code: 'NO_DEPOSIT' | 'NO_PEERS' | 'NO_MATCH' | 'FAILED', message: string, readonly result?: JobResult) {
    super(message)
  }
}

const PHASE_OF: Record<string, JobPhase | undefined> = {
  offering: 'offered', agreeing: 'matched', awaitingResults: 'agreed', fetching: 'results', verifying: 'verifying'
}

function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** The job offer for a loaded module: its pinned commit and spec hash, its machine, our terms. */
export function jobOfferFor (module: LoadedModule, inputs: Record<string, string>, o: {
  author: string, now: number, solvers: string[], mediators: string[], maxPrice: bigint, matchWithinMs: number, submitWithinMs: number
  judgeWithinMs?: number, mediateWithinMs?: number
}): JobOffer {
  const machine = module.spec.machine
  const maxSolverFee = BigInt(DEFAULTS.solverFee) * 10n
  const mediatorFee = BigInt(DEFAULTS.mediatorFee) * 10n
  return {
    author: o.author,
    nonce: String(o.now),
    expiry: o.now + o.matchWithinMs,
    moduleRepo: module.repo,
    moduleCommit: module.commit,
    modulePath: module.templatePath,
    specHash: module.specHash,
    inputs: JSON.stringify(inputs),
    cpu: Math.max(0, Math.round(machine.cpu)),
    gpu: machine.gpu,
    gpuVramMb: Math.max(0, ...machine.gpus.map(g => g.vram)),
    ramMb: Math.max(0, Math.round(machine.ram)),
    diskMb: Math.max(0, Math.round(machine.disk)),
    maxPrice: o.maxPrice.toString(),
    maxSolverFee: maxSolverFee.toString(),
    paymentCollateral: (o.maxPrice + maxSolverFee + mediatorFee).toString(),
    timeoutCollateral: BigInt(DEFAULTS.timeoutCollateral).toString(),
    trustedMediators: o.mediators,
    trustedSolvers: o.solvers,
    matchDeadline: o.now + o.matchWithinMs,
    agreeWithin: 10_000,
    submitWithin: o.submitWithinMs,
    judgeWithin: o.judgeWithinMs ?? 60_000,
    mediateWithin: o.mediateWithinMs ?? 120_000
  }
}

/**
 * `lilypad run`: joins the mesh as a job creator (its own node and log), offers the job, follows
 * the deal through its phases, and returns where the results are once the deal is final.
 */
export async function runJob (options: RunJobOptions): Promise<JobResult> {
  const started = Date.now()
  const timings: JobResult['timings'] = {}
  const phase = (name: JobPhase, detail: Record<string, unknown> = {}): void => {
    if (timings[name] !== undefined) return
    timings[name] = Date.now() - started
    options.onPhase?.(name, detail)
  }
  const checkRate = options.challengeHonestResults === true ? 1 : options.checkRate ?? 0
  const module = await loadModule({ ref: options.module, inputs: options.inputs, cacheDir: join(options.dataDir, 'modules'), mirrors: options.mirrors })
  const node = await LilypadNode.start({
    dataDir: options.dataDir,
    roles: ['job-creator'],
    network: options.network,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: options.bootstrap,
    chain: { rpcUrl: options.rpcUrl, settlementAddress: options.settlementAddress },
    mirrors: options.mirrors,
    // a creator runs jobs only to check results: without checks it need not wait for Docker to answer
    docker: checkRate > 0 ? undefined : false,
    challengeHonestResults: options.challengeHonestResults
  }, { ...process.env, WEB3_PRIVATE_KEY: options.privateKey, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })
  try {
    const offer = jobOfferFor(module, options.inputs, {
      author: node.address,
      now: Date.now(),
      solvers: options.solvers,
      mediators: options.mediators,
      maxPrice: options.maxPrice ?? BigInt(DEFAULTS.price) * 10n,
      matchWithinMs: options.matchWithinMs ?? 60_000,
      submitWithinMs: options.submitWithinMs ?? 120_000,
      judgeWithinMs: options.judgeWithinMs,
      mediateWithinMs: options.mediateWithinMs
    })
    const needed = BigInt(offer.paymentCollateral) + BigInt(offer.timeoutCollateral)
    const deposit = await node.settlement!.balanceOf()
    if (deposit < needed) {
      throw new JobError('NO_DEPOSIT', `the escrow deposit of ${node.address} is ${deposit} wei; this job needs ${needed} wei`)
    }
    await waitForGossipPeers(node, options.network, options.solvers)
    const stream = await node.host.submitJob(offer, { checkRate })
    phase('offered', { module: `${module.repo}@${module.commit.slice(0, 12)}` })
    const final = await new Promise<JobCreatorContext>((resolve) => {
      node.host.watchJob(stream, (c) => {
        const current = PHASE_OF[c.phase]
        if (current === 'matched' || c.dealId !== null) phase('matched', { deal: c.dealId })
        if (c.phase === 'awaitingResults' || c.resultsCid !== null) phase('agreed', { provider: c.deal?.resourceProvider })
        if (c.resultsCid !== null) phase('results', { cid: c.resultsCid })
        if (c.phase === 'verifying') phase('verifying')
        if (c.phase !== 'done') return false
        resolve(c)
        return true
      })
    })
    const result: JobResult = {
      outcome: final.outcome ?? 'unknown',
      dealId: final.dealId,
      resultsCid: final.resultsCid,
      resultsDir: null,
      stdout: null,
      checked: final.checked,
      settled: false,
      provider: final.deal?.resourceProvider ?? null,
      timings
    }
    if (final.outcome === 'TimeoutMatch') throw new JobError('NO_MATCH', 'no resource provider matched this job before its match deadline', result)
    if (final.dealId !== null && (final.outcome === 'Accepted' || final.outcome === 'MediationAccepted')) {
      result.resultsDir = node.exchange.downloadDir(final.dealId)
      result.stdout = await readFile(join(result.resultsDir, 'stdout'), 'utf8').catch(() => null)
      phase('verified', { outcome: final.outcome, checked: final.checked })
      result.settled = await waitForSettlement(node, final.dealId)
      if (result.settled) phase('settled')
    }
    if (final.outcome !== 'Accepted' && final.outcome !== 'MediationAccepted') {
      throw new JobError('FAILED', `the deal ended ${final.outcome}`, result)
    }
    return result
  } finally {
    await node.stop()
  }
}

/**
 * A job offer is flood-published to the subscribers this node knows when it publishes, and what
 * matters is that the solvers it trusts hear it: wait until one of them has subscribed (15 s at
 * most), then briefly for the others, so the offer reaches each of them directly and not a hop
 * later through a peer that happened to subscribe first.
 */
async function waitForGossipPeers (node: LilypadNode, network: string, solvers: string[], graceMs = 1_000): Promise<void> {
  const topic = gossipTopic(network, 'job-offers')
  const trusted = new Set(solvers.map(s => s.toLowerCase()))
  const heard = (): number => node.mesh.libp2p.services.pubsub.getSubscribers(topic)
    .filter(peer => trusted.size === 0 || trusted.has(addressOfPeer(peer)?.toLowerCase() ?? '')).length
  const wanted = Math.max(1, trusted.size)
  const started = Date.now()
  let firstAt: number | undefined
  while (Date.now() - started < 15_000) {
    const count = heard()
    if (count >= wanted) return
    if (count > 0) firstAt ??= Date.now()
    if (firstAt !== undefined && Date.now() - firstAt >= graceMs) return
    await sleep(firstAt === undefined ? 100 : 20)
  }
  throw new JobError('NO_PEERS', 'no solver of the network answered: is it running (lilypad devnet)?')
}

/** Settlement is off the critical path: report it if it lands soon. */
async function waitForSettlement (node: LilypadNode, dealId: string, withinMs = 20_000): Promise<boolean> {
  const until = Date.now() + withinMs
  while (Date.now() < until) {
    const record = await node.settlement!.dealRecord(dealId).catch(() => undefined)
    if (record?.state === 'Settled') return true
    await sleep(250)
  }
  return false
}
