// A job creator in its own process, for fault tests: `node --import tsx fault-harness-job.ts <config.json>`.
// It offers one job (or, when its data directory already holds one, follows that job again after a
// crash), prints one JSON line per change of the job's phase and a last `done` line once the deal is
// final and settled, then stops. With `crashAt` it kills itself (SIGKILL) as soon as its log records
// that phase: the record is written, the outputs it caused are not yet carried out.
import '../../src/polyfills.ts'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LilypadNode } from '../../src/node/node.ts'
import { jobOfferFor, type RunJobOptions } from '../../src/node/jobs/job-client.ts'
import { loadModule } from '../../src/executor/modules/load.ts'
import { waitForGossipPeers } from '../../src/node/jobs/job-on-node.ts'
import { DEFAULTS } from '../../src/node/settings.ts'
import type { JobCreatorContext, JobCreatorPhase } from '../../src/state-machines/job-creator.machine.ts'

/** What `lilypad run` takes, all of it required here, plus where to listen and where to crash. */
export interface FaultJobConfig extends Required<Pick<RunJobOptions,
  'dataDir' | 'privateKey' | 'network' | 'rpcUrl' | 'settlementAddress' | 'bootstrap' | 'solvers' | 'mediators' |
  'mirrors' | 'module' | 'inputs' | 'checkRate' | 'challengeHonestResults'>> {
  matchWithinMs: number
  agreeWithinMs: number
  submitWithinMs: number
  judgeWithinMs: number
  mediateWithinMs: number
  /** 0: a free port */
  port: number
  /** its challenges go to the provider only: not to the mediator, not on chain */
  wireOnlyChallenge?: boolean
  /** its challenges go on chain only */
  chainOnlyChallenge?: boolean
  crashAt?: JobCreatorPhase
  /** its node runs no Docker engine: a check it draws goes to the mediator */
  noDocker?: boolean
}

export interface FaultJobLine {
  event: 'started' | 'phase' | 'done'
  phase?: JobCreatorPhase
  jobOfferId?: string
  dealId?: string | null
  outcome?: string | null
  resultsCid?: string | null
  checked?: boolean | null
  deal?: JobCreatorContext['deal']
  settled?: boolean
  multiaddrs?: string[]
  resumed?: boolean
}

const say = (line: FaultJobLine): void => { process.stdout.write(JSON.stringify(line) + '\n') }
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

async function main (): Promise<void> {
  const config = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as FaultJobConfig
  const module = await loadModule({ ref: config.module, inputs: config.inputs, cacheDir: join(config.dataDir, 'modules'), mirrors: config.mirrors })
  const node = await LilypadNode.start({
    dataDir: config.dataDir,
    roles: ['job-creator'],
    network: config.network,
    listen: [`/ip4/127.0.0.1/tcp/${config.port}`],
    bootstrap: config.bootstrap,
    chain: { rpcUrl: config.rpcUrl, settlementAddress: config.settlementAddress },
    mirrors: config.mirrors,
    challengeHonestResults: config.challengeHonestResults,
    wireOnlyChallenge: config.wireOnlyChallenge,
    chainOnlyChallenge: config.chainOnlyChallenge,
    ...(config.noDocker === true ? { docker: false } : {})
  }, { ...process.env, WEB3_PRIVATE_KEY: config.privateKey, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' })
  const { runtime } = node.host
  let stream = runtime.streams().find(s => s.startsWith('job:'))
  const resumed = stream !== undefined
  say({ event: 'started', resumed, multiaddrs: node.mesh.multiaddrs().map(String) })
  if (stream === undefined) {
    // as `lilypad run` does: the solvers it trusts hear the offer directly (a solver that restarted
    // hears an offer that went out before it subscribed only when it is re-announced, 150 s later).
    // The solver may be restarting in another case: up to 90 s, then the offer goes out all the same
    for (let tries = 0; tries < 6; tries++) {
      if (await waitForGossipPeers(node, config.network, config.solvers).then(() => true, () => false)) break
    }
    const offer = jobOfferFor(module, config.inputs, {
      author: node.address,
      now: Date.now(),
      solvers: config.solvers,
      mediators: config.mediators,
      maxPrice: BigInt(DEFAULTS.price) * 10n,
      matchWithinMs: config.matchWithinMs,
      agreeWithinMs: config.agreeWithinMs,
      submitWithinMs: config.submitWithinMs,
      judgeWithinMs: config.judgeWithinMs,
      mediateWithinMs: config.mediateWithinMs
    })
    // a creator that challenges honest results checks every one of them
    stream = await node.host.submitJob(offer, { checkRate: config.challengeHonestResults ? 1 : config.checkRate })
  }
  const jobStream = stream
  let lastPhase: JobCreatorPhase | undefined
  let latest: JobCreatorContext | undefined
  const ended = await new Promise<JobCreatorContext>((resolve) => {
    node.host.watchJob(jobStream, (c) => {
      latest = c
      if (c.phase !== lastPhase) {
        lastPhase = c.phase
        say({ event: 'phase', phase: c.phase, jobOfferId: c.jobOfferId, dealId: c.dealId, resultsCid: c.resultsCid })
        // synchronously, before the runtime carries out the outputs of the record just written
        if (!resumed && config.crashAt === c.phase) process.kill(process.pid, 'SIGKILL')
      }
      if (c.phase === 'done') resolve(c)
      // kept watching: a claim answers with the outcome the chain settled, which may differ
      return false
    })
  })
  // the outputs of the last step (an acceptance, a claim) must be carried out before stopping; a
  // claim is done when the chain has settled the deal, which may wait for another party's claim.
  // A results fetch still running is moot once the deal is final (its judge deadline passed)
  const owed = (): boolean => runtime.pendingOutputs().some(p => p.stream === jobStream && p.output.type !== 'results.fetch')
  for (let i = 0; i < 1800 && owed(); i++) await sleep(100)
  const final = latest ?? ended
  let settled = false
  if (final.dealId !== null && final.deal !== null) {
    for (let i = 0; i < 300 && !settled; i++) {
      const record = await node.settlement!.dealRecord(final.dealId).catch(() => undefined)
      settled = record?.state === 'Settled'
      if (!settled) await sleep(100)
    }
  }
  say({ event: 'done', jobOfferId: final.jobOfferId, dealId: final.dealId, outcome: final.outcome, resultsCid: final.resultsCid, checked: final.checked, deal: final.deal, settled })
  await node.stop()
}

main().then(() => process.exit(0), (err: Error) => {
  process.stderr.write(`fault job: ${err.stack ?? err.message}\n`)
  process.exit(1)
})
