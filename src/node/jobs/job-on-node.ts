import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { LoadedModule } from '../../executor/modules/load.ts'
import { gossipTopic } from '../../protocols/mesh/topics.ts'
import { addressOfPeer } from '../../protocols/mesh/peer-identity.ts'
import type { JobCreatorContext } from '../../state-machines/job-creator.machine.ts'
import type { LilypadNode } from '../node.ts'
import { DEFAULTS } from '../settings.ts'
import { jobOfferFor } from './job-offer.ts'
import { delay } from '../../support/delay.ts'
import { JobError } from './job-errors.ts'
import { rerunWindowMs, submitWindowMs } from './submit-window.ts'
import { imagePinFor } from './image-pin.ts'
import { jobInputs } from '../adapters/job-inputs.ts'
import { RunFailure } from '../../executor/results/failed-run.ts'
import { pinUrlInputs } from './url-pins.ts'

export type JobPhase = 'offered' | 'matched' | 'agreed' | 'results' | 'verifying' | 'verified' | 'settled'

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

export { JobError, type JobErrorCode } from './job-errors.ts'

/** A job's terms: whom it trusts, what it pays, how long each step may take. */
export interface JobTerms {
  solvers: string[]
  mediators: string[]
  network: string
  /** probability of re-running the job to check the results (MODiCuM's p) */
  checkRate: number
  maxPrice?: bigint
  /** how long to look for a match before giving up */
  matchWithinMs?: number
  /** how long the parties have to sign once matched: the provider's module fetch and image pull (default 30 s) */
  agreeWithinMs?: number
  /** a folder of input data: this node keeps and serves it, and the job mounts it read-only at /inputs */
  inputsPath?: string
  /** how long the provider has to submit results (default: the module's timeout and margins) */
  submitWithinMs?: number
  /** how long after the submit deadline the results may be judged (default 60 s) */
  judgeWithinMs?: number
  /** how long after the judge deadline a mediator may take (default 120 s) */
  mediateWithinMs?: number
  /** how many of the deal's mediators must agree to settle a challenge (default 1: the one judge the chain draws) */
  quorum?: number
  /** the job offer's nonce (default: the time); a job asked for on chain uses its request id */
  nonce?: string
}

/** Called once per phase, in order, as the job reaches it. */
export type PhaseListener = (phase: JobPhase, detail: Record<string, unknown>) => void

const PHASE_OF: Record<string, JobPhase | undefined> = {
  offering: 'offered', agreeing: 'matched', awaitingResults: 'agreed', fetching: 'results', verifying: 'verifying'
}


/**
 * Offers a loaded module as a job from a running job-creator node: checks its escrow deposit covers
 * the job, waits until the trusted solvers listen, and submits. Returns the job's stream.
 */
export async function submitOnNode (node: LilypadNode, module: LoadedModule, inputs: Record<string, string>, terms: JobTerms): Promise<string> {
  // the configured mediators, and those announced with the stake this node asks of them
  if (node.mediatorTrust !== undefined) await node.mediatorTrust.refresh()
  const mediators = node.mediatorTrust?.with(terms.mediators) ?? terms.mediators
  const quorum = terms.quorum ?? 1
  if (quorum > mediators.length) {
    throw new JobError('BAD_INPUT', `a quorum of ${quorum} needs ${quorum} trusted mediators; this node trusts ${mediators.length}`)
  }
  const urlPins = await pinUrlInputs(module, node.results)
  expectMountableInputs(module, urlPins)
  const offer = jobOfferFor(module, inputs, {
    author: node.address,
    now: Date.now(),
    solvers: terms.solvers,
    mediators,
    maxPrice: terms.maxPrice ?? BigInt(DEFAULTS.price) * 10n,
    matchWithinMs: terms.matchWithinMs ?? 60_000,
    agreeWithinMs: terms.agreeWithinMs,
    submitWithinMs: submitWindowMs(module, terms.submitWithinMs),
    // a creator that checks re-runs the job before the judge deadline, and a mediator before the mediate one
    judgeWithinMs: terms.judgeWithinMs ?? (terms.checkRate > 0 ? Math.max(60_000, rerunWindowMs(module)) : undefined),
    mediateWithinMs: terms.mediateWithinMs ?? Math.max(120_000, rerunWindowMs(module)),
    image: await imagePinFor(module),
    inputsCid: terms.inputsPath === undefined ? undefined : await offeredInputs(node, terms.inputsPath),
    urlPins,
    quorum: terms.quorum,
    nonce: terms.nonce
  })
  const needed = BigInt(offer.paymentCollateral) + BigInt(offer.timeoutCollateral)
  const deposit = await node.settlement!.balanceOf()
  if (deposit < needed) {
    throw new JobError('NO_DEPOSIT', `the escrow deposit of ${node.address} is ${deposit} wei; this job needs ${needed} wei`)
  }
  await waitForGossipPeers(node, terms.network, terms.solvers)
  return await node.host.submitJob(offer, { checkRate: terms.checkRate })
}

/**
 * Follows a submitted job through its phases until the deal is final, then reads its results (the
 * result so far goes to `onVerified`) and reports settlement if it lands soon. Throws a JobError (with the result) when the deal failed.
 */
export async function followOnNode (
  node: LilypadNode, stream: string, phase: PhaseListener, timings: JobResult['timings'], onVerified?: (result: JobResult) => void
): Promise<JobResult> {
  const final = await new Promise<JobCreatorContext>((resolve) => {
    node.host.watchJob(stream, (c) => {
      const current = PHASE_OF[c.phase]
      if (current === 'matched' || c.dealId !== null) phase('matched', { deal: c.dealId })
      if (c.phase === 'awaitingResults' || c.resultsCid !== null) phase('agreed', { provider: c.deal?.resourceProvider })
      if (c.resultsCid !== null) phase('results', { cid: c.resultsCid })
      if (c.phase === 'verifying') phase('verifying', {})
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
    onVerified?.(result)
    phase('verified', { outcome: final.outcome, checked: final.checked })
    result.settled = await waitForSettlement(node, final.dealId)
    if (result.settled) phase('settled', {})
  }
  if (final.outcome !== 'Accepted' && final.outcome !== 'MediationAccepted') {
    throw new JobError('FAILED', `the deal ended ${final.outcome}`, result)
  }
  return result
}

/**
 * A job offer is flood-published to the subscribers this node knows when it publishes, and what
 * matters is that the solvers it trusts hear it: wait until one of them has subscribed (15 s at
 * most), then briefly for the others, so the offer reaches each of them directly and not a hop
 * later through a peer that happened to subscribe first. Trusted solvers it met but is no longer
 * connected to are dialled again first.
 */
export async function waitForGossipPeers (node: LilypadNode, network: string, solvers: string[], graceMs = 1_000): Promise<void> {
  const topic = gossipTopic(network, 'job-offers')
  const trusted = new Set(solvers.map(s => s.toLowerCase()))
  const heard = (): number => node.mesh.libp2p.services.pubsub.getSubscribers(topic)
    .filter(peer => trusted.size === 0 || trusted.has(addressOfPeer(peer)?.toLowerCase() ?? '')).length
  const wanted = Math.max(1, trusted.size)
  // a long-running node may have lost its connection to a solver it met: dial those it knows again
  const libp2p = node.mesh.libp2p
  for (const peer of await libp2p.peerStore.all()) {
    const address = addressOfPeer(peer.id)?.toLowerCase()
    if (address !== undefined && trusted.has(address) && libp2p.getConnections(peer.id).length === 0) libp2p.dial(peer.id).catch(() => undefined)
  }
  const started = Date.now()
  let firstAt: number | undefined
  while (Date.now() - started < 15_000) {
    const count = heard()
    if (count >= wanted) return
    if (count > 0) firstAt ??= Date.now()
    if (firstAt !== undefined && Date.now() - firstAt >= graceMs) return
    await delay(firstAt === undefined ? 100 : 20)
  }
  throw new JobError('NO_PEERS', 'no solver of the network answered: is it running (lilypad devnet)?')
}

/** Settlement is off the critical path: report it if it lands soon. */
async function waitForSettlement (node: LilypadNode, dealId: string, withinMs = 20_000): Promise<boolean> {
  const until = Date.now() + withinMs
  while (Date.now() < until) {
    const record = await node.settlement!.dealRecord(dealId).catch(() => undefined)
    if (record?.state === 'Settled') return true
    await delay(250)
  }
  return false
}

/** Keeps a folder (or file) of input data in the node's blockstore, which serves it by CID to the job's parties. */
async function offeredInputs (node: LilypadNode, path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined)
  if (info === undefined || !(info.isDirectory() || info.isFile())) throw new JobError('BAD_INPUT', `--inputs-path ${path} is not a folder or a file`)
  try {
    return (await node.results.add(path)).toString()
  } catch (err) {
    throw new JobError('BAD_INPUT', `--inputs-path ${path}: ${(err as Error).message}`)
  }
}

/** A module whose inputs no provider could mount (at a path it cannot have, named by nothing) is refused before it is offered. */
function expectMountableInputs (module: LoadedModule, urlPins: string): void {
  try {
    jobInputs({ inputsCid: '', urlPins }, module.spec.job)
  } catch (err) {
    if (err instanceof RunFailure) throw new JobError('BAD_INPUT', err.message)
    throw err
  }
}
