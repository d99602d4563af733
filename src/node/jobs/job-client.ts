import { join } from 'node:path'
import { loadModule } from '../../executor/modules/load.ts'
import { userModuleSchemes } from '../../executor/modules/sources.ts'
import { LilypadNode } from '../node.ts'
import { followOnNode, submitOnNode, type JobResult, type PhaseListener } from './job-on-node.ts'
import { phaseRecorder } from './phases.ts'
import type { JobCreatorContext } from '../../state-machines/job-creator.machine.ts'
import { settleGuardAt } from '../../state-machines/deal-lifecycle.ts'
import { delay } from '../../support/delay.ts'

export { jobOfferFor } from './job-offer.ts'
export { JobError, type JobPhase, type JobResult } from './job-on-node.ts'
export { phaseRecorder } from './phases.ts'

export interface RunJobOptions {
  module: string
  inputs: Record<string, string>
  dataDir: string
  privateKey: string
  network: string
  rpcUrl: string
  settlementAddress: string
  bootstrap: string[]
  /** the addresses its node listens on (default a free port of 127.0.0.1) */
  listen?: string[]
  /** relays to be reachable through (multiaddrs with /p2p/<id>), for a job creator behind a NAT */
  relays?: string[]
  solvers: string[]
  mediators: string[]
  mirrors?: Record<string, string>
  /** probability of re-running the job to check the results (MODiCuM's p) */
  checkRate?: number
  maxPrice?: bigint
  /** how long to look for a match before giving up */
  matchWithinMs?: number
  /** how long the parties have to sign once matched (default 30 s) */
  agreeWithinMs?: number
  /** a folder of input data, served from this node and mounted read-only at /inputs */
  inputsPath?: string
  /** how many of the deal's mediators must agree to settle a challenge (default 1) */
  quorum?: number
  submitWithinMs?: number
  /** how long after the submit deadline the results may be judged (default 60 s) */
  judgeWithinMs?: number
  /** how long after the judge deadline a mediator may take (default 120 s) */
  mediateWithinMs?: number
  /** the job offer's nonce (default: the time); a job asked for on chain uses its request id */
  nonce?: string
  /** test networks only: check every result and challenge it, honest or not (recorded in the log) */
  challengeHonestResults?: boolean
  onPhase?: PhaseListener
  /** told of what the user must know once the job is over (a deal that may still bind this node) */
  onNotice?: (line: string) => void
}

/**
 * `lilypad run` without a node to submit to: joins the mesh as a job creator (its own node and
 * log), offers the job, follows the deal through its phases, and returns where the results are
 * once the deal is final.
 */
export async function runJob (options: RunJobOptions): Promise<JobResult> {
  const timings: JobResult['timings'] = {}
  const phase = phaseRecorder(Date.now(), timings, options.onPhase)
  const checkRate = options.challengeHonestResults === true ? 1 : options.checkRate ?? 0
  // the user typed this reference on their own machine: a local repository is theirs to name
  const module = await loadModule({ ref: options.module, inputs: options.inputs, cacheDir: join(options.dataDir, 'modules'), mirrors: options.mirrors, allowedSchemes: userModuleSchemes() })
  const node = await LilypadNode.start({
    dataDir: options.dataDir,
    roles: ['job-creator'],
    network: options.network,
    listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: options.bootstrap,
    relays: options.relays,
    chain: { rpcUrl: options.rpcUrl, settlementAddress: options.settlementAddress },
    mirrors: options.mirrors,
    // a creator runs jobs only to check results: without checks it need not wait for Docker to answer
    docker: checkRate > 0 ? undefined : false,
    challengeHonestResults: options.challengeHonestResults
  }, { ...process.env, WEB3_PRIVATE_KEY: options.privateKey, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })
  try {
    const stream = await submitOnNode(node, module, options.inputs, { ...options, checkRate })
    phase('offered', { module: `${module.repo}@${module.commit.slice(0, 12)}` })
    try {
      return await followOnNode(node, stream, phase, timings)
    } finally {
      await lastOutputsCarriedOut(node, stream)
      for (const line of unconfirmedNotices(node.host.job(stream))) options.onNotice?.(line)
    }
  } finally {
    await node.stop()
  }
}

/**
 * Waits, a minute at most, until the job's outputs are carried out: a deal that ends on its deadline
 * ends with a claim, which a node stopped at once would leave to its next start. A results fetch
 * still running is moot once the deal is final.
 */
async function lastOutputsCarriedOut (node: LilypadNode, stream: string, withinMs = 60_000): Promise<void> {
  const owed = (): boolean => node.host.runtime.pendingOutputs().some(p => p.stream === stream && p.output.type !== 'results.fetch')
  for (const until = Date.now() + withinMs; owed() && Date.now() < until;) await delay(100)
}

/**
 * Deals this job signed that the provider did not co-sign in time may still bind it: the node
 * watches them on chain (unconfirmed-deals.ts), but only while it runs. A run that stops its node
 * when the job is over says until when to run it again.
 */
export function unconfirmedNotices (job: JobCreatorContext | undefined): string[] {
  return (job?.unconfirmed ?? []).map(u =>
    `deal ${u.dealId} was signed by this node and not co-signed by ${u.deal.resourceProvider} in time; the provider may still commit results for it. ` +
    `Run a node with this data directory (\`lilypad node\`, or \`lilypad run\` with the same DATA_DIR) around ${new Date(settleGuardAt(u.deal)).toISOString()}, before ${new Date(u.deal.judgeDeadline).toISOString()}, so that it can challenge them.`)
}
