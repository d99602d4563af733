/**
 * Jobs asked for on chain (`LilypadJobs.requestJob`), offered to the mesh by a job-creator node on
 * the requester's behalf, and their results delivered back. The relayer is trusted with nothing:
 * the jobs contract pays it back only for a deal the settlement contract holds as settled accepted,
 * whose job offer names the request (its nonce is the request id) and its module and inputs, and
 * only once. What the relayer decides is which requests it takes and when:
 *
 * - it claims a request on chain before offering it, so racing relayers make one deal between them;
 *   a claim lives for the request's claim window, after which another relayer may take it over, and
 *   stakes the request's claim bond, which comes back with the delivery of its deal;
 * - it takes a request only when the deal fits: its windows end within the claim (the deal settles
 *   before anyone else may claim) and its most cost, with the relayer's fee, within the payment;
 * - it takes a request that asks for an output only from a file every run leaves (stdout, stderr,
 *   exitCode): a file the results may lack would leave it a deal it cannot deliver;
 * - it finds its jobs again after a restart from its log (the offers' nonces), and delivers those
 *   that settled, with the blocks that prove the output asked for; a request past its deadline it
 *   refunds.
 */
import { join } from 'node:path'
import type { Logger } from 'pino'
import { parseCid } from '../../executor/results/cid.ts'
import { RESULTS_FILES } from '../../executor/results/layout.ts'
import { pathProof } from '../../executor/results/path-proof.ts'
import { defaultModuleSchemes } from '../../executor/modules/sources.ts'
import { loadModule, type LoadedModule } from '../../executor/modules/load.ts'
import type { ResultsSubmitted } from '../../settlement/evidence.ts'
import { NO_OUTPUT, type JobRequestedEvent, type OnchainJobsClient, type OutputProof } from '../../settlement/onchain-jobs.ts'
import type { JobCreatorContext } from '../../state-machines/job-creator.machine.ts'
import { DEFAULT_MEDIATION_CHANCE } from '../jobs/check-rate.ts'
import { DEFAULT_AGREE_WITHIN_MS } from '../jobs/job-offer.ts'
import { submitOnNode } from '../jobs/job-on-node.ts'
import { jobTimeoutMs } from '../../executor/docker/from-module.ts'
import { rerunWindowMs, submitWindowMs } from '../jobs/submit-window.ts'
import type { LilypadNode } from '../node.ts'
import { DEFAULTS } from '../settings.ts'

/** What the relayer needs of the jobs contract (an OnchainJobsClient of this node's account). */
export type OnchainJobs = Pick<OnchainJobsClient, 'requestsSince' | 'requestOf' | 'claim' | 'deliver' | 'deliverWithResults' | 'refund' | 'tokenBalance' | 'provider'>

export interface RelayerOptions {
  network: string
  solvers: string[]
  mediators: string[]
  mirrors?: Record<string, string>
  dataDir: string
  /** how often the chain is read for requests and claims (default 2 s) */
  pollMs?: number
  /** the chance, in percent, that the relayer re-runs a job to check its results, where the windows allow (default DEFAULT_MEDIATION_CHANCE) */
  mediationChance?: number
  /** the first block to read requests from: the jobs contract's deployment (default 0) */
  fromBlock?: number
}

/** the shortest time a job is looked for a provider: less is not worth a claim */
const MIN_MATCH_MS = 5_000
const MAX_MATCH_MS = 60_000
/** the shortest agree window: the provider fetches the module and checks the image in it */
const MIN_AGREE_MS = 10_000
/** beside the job's timeout, the least a provider needs to start it and submit its results */
const MIN_RUN_MARGIN_MS = 5_000
/** how long a request this relayer will not take (its inputs, module or payment) is left before it is looked at again */
const SKIP_MS = 30_000
/** after the results, the time the acceptance and its settlement take to reach the chain */
const SETTLE_MARGIN_MS = 10_000
/** the results files a request may ask its output from: those every run leaves */
const OUTPUT_FILES: readonly string[] = [RESULTS_FILES.stdout, RESULTS_FILES.stderr, RESULTS_FILES.exitCode]
/** the most blocks one read of the requests spans: public RPC endpoints refuse wider log queries */
const LOG_RANGE = 2_000

interface Plan { module: LoadedModule, inputs: Record<string, string>, maxPrice: bigint, matchWithinMs: number, agreeWithinMs: number, submitWithinMs: number, checkRate: number }

type Tracked = { request: JobRequestedEvent, stream?: string, done?: boolean, skippedUntil?: number }

export class OnchainRelayer {
  private readonly requests = new Map<string, Tracked>()
  private nextBlock: number
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private stopped = false
  private readonly logger: Logger

  constructor (private readonly node: LilypadNode, private readonly jobs: OnchainJobs, private readonly options: RelayerOptions, private readonly now: () => number = Date.now) {
    this.logger = node.logger.child({ component: 'onchain-jobs' })
    this.nextBlock = options.fromBlock ?? 0
  }

  start (): void {
    const loop = (): void => {
      if (this.stopped) return
      this.running = this.tick().catch((err: Error) => { this.logger.warn({ err: err.message }, 'reading on-chain job requests') })
        .finally(() => { if (!this.stopped) this.timer = setTimeout(loop, this.options.pollMs ?? 2_000) })
    }
    loop()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  /** One pass: new requests, then each open one. */
  async tick (): Promise<void> {
    // up to the head read first, a range at a time: the next pass starts after it, however long no request came
    const head = await this.jobs.provider.getBlockNumber()
    while (head >= this.nextBlock && !this.stopped) {
      const to = Math.min(head, this.nextBlock + LOG_RANGE - 1)
      for (const request of await this.jobs.requestsSince(this.nextBlock, to)) {
        if (!this.requests.has(request.requestId)) this.requests.set(request.requestId, { request, stream: this.streamOf(request.requestId) })
      }
      this.nextBlock = to + 1
    }
    // each request on its own: one whose job is being offered (a module to fetch, peers to wait for) holds up no other
    await Promise.all([...this.requests.values()].filter(t => t.done !== true).map(async (tracked) => {
      if (this.stopped) return
      await this.step(tracked).catch((err: Error) => { this.logger.warn({ requestId: tracked.request.requestId, err: err.message }, 'relaying an on-chain job') })
    }))
  }

  private async step (tracked: Tracked): Promise<void> {
    const { request } = tracked
    const state = await this.jobs.requestOf(request.requestId)
    if (state.status !== 'Open') { tracked.done = state.status !== 'None'; return }
    const now = this.now()
    if (now > request.terms.deadline) {
      // another relayer's refund may come first: then the next pass finds it refunded
      await this.jobs.refund(request.requestId)
      this.logger.info({ requestId: request.requestId }, 'on-chain job refunded: no deal settled by its deadline')
      tracked.done = true
      return
    }
    const context = tracked.stream === undefined ? undefined : this.node.host.job(tracked.stream)
    if (context !== undefined) {
      if (context.phase !== 'done') return
      if (await this.deliverIfSettled(request, context)) { tracked.done = true; return }
      if (context.outcome === 'Accepted' || context.outcome === 'MediationAccepted') return // settling
      tracked.stream = undefined // the deal failed: the request may be taken again
    }
    const ours = state.claimant?.toLowerCase() === this.node.address.toLowerCase() && state.claimedUntil > now
    if (!ours && state.claimedUntil > now) return
    if ((tracked.skippedUntil ?? 0) > now) return
    const plan = await this.plan(tracked, ours ? state.claimedUntil : Math.min(now + request.terms.claimWindow, request.terms.deadline))
    if (plan === undefined) return
    if (!ours) {
      const balance = await this.jobs.tokenBalance()
      if (balance < request.terms.claimBond) { this.skip(tracked, `its claim bond of ${request.terms.claimBond} wei is more than this account's ${balance}`); return }
      try {
        await this.jobs.claim(request.requestId, request.terms.claimBond)
      } catch (err) {
        this.logger.debug({ requestId: request.requestId, err: (err as Error).message }, 'claim lost')
        return
      }
    }
    tracked.stream = await submitOnNode(this.node, plan.module, plan.inputs, {
      network: this.options.network,
      solvers: this.options.solvers,
      mediators: this.options.mediators,
      checkRate: plan.checkRate,
      maxPrice: plan.maxPrice,
      matchWithinMs: plan.matchWithinMs,
      agreeWithinMs: plan.agreeWithinMs,
      submitWithinMs: plan.submitWithinMs,
      nonce: BigInt(request.requestId).toString()
    })
    this.logger.info({ requestId: request.requestId, stream: tracked.stream, module: `${plan.module.repo}@${plan.module.commit}` }, 'on-chain job offered')
  }

  /**
   * The job a request asks for, if this relayer can take it: its module at the pinned commit, a
   * price that leaves the relayer's fee within the payment, and windows that end before `until`.
   */
  private async plan (tracked: Tracked, until: number): Promise<Plan | undefined> {
    const { request } = tracked
    const { spec, terms } = request
    const inputs = parseInputs(spec.inputs)
    if (inputs === undefined) return this.skip(tracked, 'its inputs are not a compact JSON object of strings')
    if (spec.outputPath !== '' && !OUTPUT_FILES.includes(spec.outputPath)) return this.skip(tracked, `it asks for ${spec.outputPath}, which the results may lack (only ${OUTPUT_FILES.join(', ')} are taken)`)
    let module: LoadedModule
    try {
      module = await loadModule({
        ref: `${spec.moduleRepo}:${spec.moduleCommit}`,
        templatePath: spec.modulePath,
        inputs,
        cacheDir: join(this.options.dataDir, 'modules'),
        mirrors: this.options.mirrors,
        allowedSchemes: defaultModuleSchemes()
      })
    } catch (err) {
      return this.skip(tracked, `its module does not load: ${(err as Error).message.split('\n')[0]}`)
    }
    if (module.repo !== spec.moduleRepo || module.commit !== spec.moduleCommit) return this.skip(tracked, `it names ${spec.moduleRepo}@${spec.moduleCommit}, which is not a repository and full commit`)
    // what the job creator pays at most beside the price (jobOfferFor's terms): the solver's fee and one mediator's
    const fees = BigInt(DEFAULTS.solverFee) * 10n + BigInt(DEFAULTS.mediatorFee) * 10n
    const maxPrice = terms.payment - terms.relayerFee - fees
    if (maxPrice <= 0n) return this.skip(tracked, `its payment of ${terms.payment} wei leaves no price after the fees`)
    // the deal must settle before the claim ends: the provider's windows shrink to fit, never below the job's timeout
    const budget = until - this.now() - SETTLE_MARGIN_MS
    const windows = dealWindows(budget, jobTimeoutMs(module.spec.job), submitWindowMs(module))
    // not now: the next pass, or a new claim, may leave more time
    if (windows === undefined) return this.skip(tracked, `its deal would not settle within ${budget} ms`, false)
    const { matchWithinMs, agreeWithinMs, submitWithinMs } = windows
    // checking re-runs the job within the judge window, and a challenge waits for a mediator's; a
    // mediation the request would not repay whole (its maxMediatorFee) is not risked
    const checking = Math.max(60_000, rerunWindowMs(module)) + Math.max(120_000, rerunWindowMs(module))
    const repaid = terms.maxMediatorFee >= BigInt(DEFAULTS.mediatorFee) * 10n
    const checkRate = repaid && budget - matchWithinMs - agreeWithinMs - submitWithinMs >= checking ? (this.options.mediationChance ?? DEFAULT_MEDIATION_CHANCE) / 100 : 0
    return { module, inputs, maxPrice, matchWithinMs, agreeWithinMs, submitWithinMs, checkRate }
  }

  private async deliverIfSettled (request: JobRequestedEvent, context: JobCreatorContext): Promise<boolean> {
    if ((context.outcome !== 'Accepted' && context.outcome !== 'MediationAccepted') || context.deal === null || context.dealId === null || context.resultsCid === null) return false
    const record = await this.node.settlement!.dealRecord(context.dealId)
    if (record.state !== 'Settled') return false
    const output = await this.outputProof(request, context.resultsCid, context.dealId)
    // the settlement holds a deal's results only once committed or challenged; else the provider's signed results stand for them
    if (BigInt(await this.node.settlement!.resultsCidHash(context.dealId)) !== 0n) {
      await this.jobs.deliver(request.requestId, context.deal, context.job, context.resultsCid, output)
    } else {
      const results = context.resultsId === null ? undefined : await this.node.host.signedMessage(context.resultsId)
      if (results?.type !== 'ResultsSubmitted' || results.signatures[0] === undefined) throw new Error(`the provider's signed results of deal ${context.dealId} are not kept here`)
      await this.jobs.deliverWithResults(request.requestId, context.deal, context.job, { message: results.message as ResultsSubmitted, signature: results.signatures[0] }, output)
    }
    this.logger.info({ requestId: request.requestId, dealId: context.dealId, resultsCid: context.resultsCid }, 'on-chain job delivered')
    return true
  }

  /**
   * The blocks that prove the output the request asked for, from the results' blocks this node holds
   * (it fetched them to check them), or fetches again.
   */
  private async outputProof (request: JobRequestedEvent, resultsCid: string, dealId: string): Promise<OutputProof> {
    const path = request.spec.outputPath
    if (path === '') return NO_OUTPUT
    const root = parseCid(resultsCid)
    const blockstore = this.node.results.blockstore
    try {
      return { path, blocks: await pathProof(blockstore, root, path) }
    } catch (err) {
      this.logger.debug({ requestId: request.requestId, err: (err as Error).message }, 'the output\'s blocks are not all here: fetching the results')
      await this.node.exchange.fetch(root, { dealId })
      return { path, blocks: await pathProof(blockstore, root, path) }
    }
  }

  /** The job this node offered for a request, found in its log by the offer's nonce (after a restart too). */
  private streamOf (requestId: string): string | undefined {
    const nonce = BigInt(requestId).toString()
    const streams = this.node.host.runtime.streams().filter(s => s.startsWith('job:') && this.node.host.job(s)?.job.nonce === nonce)
    // the latest attempt is the one that counts
    return streams.sort((a, b) => (this.node.host.job(a)!.job.matchDeadline - this.node.host.job(b)!.job.matchDeadline)).pop()
  }

  /** A request not taken; one that will not change (its inputs, module or payment) is looked at again only after a while, not reloaded every pass. */
  private skip (tracked: Tracked, why: string, lasting = true): undefined {
    this.logger.debug({ requestId: tracked.request.requestId, why }, 'on-chain job not taken')
    if (lasting) tracked.skippedUntil = this.now() + SKIP_MS
    return undefined
  }
}

/**
 * A deal's windows within `budgetMs`: the agree window a quarter of it (10 to 30 s), the submit
 * window the job's timeout and a margin at least, the match window 5 s at least. What is left over
 * is shared between the match window (a job waits for a provider busy now) and the submit window (a
 * slow provider finishes), up to 60 s and the module's own submit window. Undefined where even the
 * least of each does not fit.
 */
export function dealWindows (budgetMs: number, timeoutMs: number, moduleSubmitMs: number): { matchWithinMs: number, agreeWithinMs: number, submitWithinMs: number } | undefined {
  const agreeWithinMs = Math.min(DEFAULT_AGREE_WITHIN_MS, Math.max(MIN_AGREE_MS, Math.floor(budgetMs / 4)))
  const leftOver = budgetMs - agreeWithinMs - MIN_MATCH_MS - (timeoutMs + MIN_RUN_MARGIN_MS)
  if (leftOver < 0) return undefined
  const matchWithinMs = Math.min(MAX_MATCH_MS, MIN_MATCH_MS + Math.floor(leftOver / 2))
  const submitWithinMs = Math.min(moduleSubmitMs, budgetMs - agreeWithinMs - matchWithinMs)
  return { matchWithinMs, agreeWithinMs, submitWithinMs }
}

/** The request's inputs, if they are the compact JSON object of strings a job offer carries. */
function parseInputs (text: string): Record<string, string> | undefined {
  try {
    const value = JSON.parse(text) as unknown
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    if (!Object.values(value).every(v => typeof v === 'string')) return undefined
    return JSON.stringify(value) === text ? value as Record<string, string> : undefined
  } catch {
    return undefined
  }
}
