/**
 * A fault harness for end-to-end tests: a devnet whose nodes serve `/status`, providers that each
 * take one module only (so a test chooses who runs its job), job creators in their own processes,
 * SIGKILL of a node when its state reaches a given deal state, restart from its data directory, and
 * the checks every case ends with: the chain's outcome, the payouts of the deal against `settle()`,
 * the parties' agreement, exact escrow balances, and `lilypad audit` of every log.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { computeAddress } from 'ethers'
import type { EventLog as EventLogType } from '../../src/actors/eventlog/event-log.ts'
import { EventLog } from '../../src/actors/eventlog/event-log.ts'
import { auditLog, type AuditReport } from '../../src/actors/audit.ts'
import { runAudit } from '../../src/cli/commands/audit.ts'
import { roleDefinitions } from '../../src/cli/definitions.ts'
import { createModuleRepo, ensureCowsayImage, COWSAY_IMAGE_PLACEHOLDER } from '../../src/cli/demo/demo-modules.ts'
import { DEVNET_DEPOSIT, startDevnet, type Devnet } from '../../src/devnet/devnet.ts'
import type { DealStatus } from '../../src/node/server/deal-status.ts'
import { SettlementClient } from '../../src/settlement/client.ts'
import { increaseTime } from '../../src/settlement/dev-chain.ts'
import { lockedBy, settle, PAYOUT_ROLES, type Evidence } from '../../src/state-machines/settle.ts'
import type { DealOutcome } from '../../src/state-machines/deal-states.ts'
import type { Deal } from '../../src/protocols/messages/schemas.ts'
import type { JobCreatorPhase } from '../../src/state-machines/job-creator.machine.ts'
import type { FaultJobConfig, FaultJobLine } from './fault-harness-job.ts'
import { repoRoot, runTs } from './child.ts'

export interface FaultDeadlines {
  matchWithinMs: number
  agreeWithinMs: number
  submitWithinMs: number
  judgeWithinMs: number
  mediateWithinMs: number
}

export interface FaultNetworkOptions {
  dir: string
  /** providers that corrupt their outputs come first: provider-1 … */
  cheatingProviders: number
  honestProviders: number
  mediators: number
  /** one funded account per job: a job creator process each */
  jobCreators: number
  deadlines: FaultDeadlines
  /** seconds each job sleeps before it answers, so that a run is long enough to be caught */
  runSeconds: number
  /** seconds a job sleeps when its name (its Message input) starts with `slow-`: it holds its provider's slot */
  slowRunSeconds: number
  log?: (line: string) => void
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const JOB_SCRIPT = join(repoRoot, 'test/support/fault-harness-job.ts')

async function until<T> (what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 25): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const found = await probe().catch(() => undefined)
    if (found !== undefined) return found
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** The longest a deal of these deadlines can last from its job offer: matched last, then every window waited out. */
export function dealLifetimeMs (d: FaultDeadlines): number {
  return d.matchWithinMs + d.agreeWithinMs + d.submitWithinMs + d.judgeWithinMs + d.mediateWithinMs
}

/** A job creator process following one job, restartable from its data directory. */
export class FaultJob {
  readonly lines: FaultJobLine[] = []
  /** when each line came, in ms since the job started: a timeout names the phases and their times */
  private readonly seenAt: number[] = []
  private readonly startedAt = Date.now()
  private child: ChildProcess | undefined
  private exit: Promise<{ code: number | null, signal: NodeJS.Signals | null }> = Promise.resolve({ code: null, signal: null })
  private stderr = ''
  private port = 0

  constructor (
    readonly name: string,
    private readonly config: Omit<FaultJobConfig, 'port' | 'crashAt'>,
    private readonly configDir: string,
    private readonly log: (line: string) => void = () => {}
  ) {}

  /** Starts the process; `crashAt` makes it SIGKILL itself once its log records that phase. */
  async start (crashAt?: JobCreatorPhase): Promise<void> {
    const file = join(this.configDir, `${this.name}.json`)
    await writeFile(file, JSON.stringify({ ...this.config, port: this.port, crashAt }))
    const child = runTs(JOB_SCRIPT, [file])
    this.child = child
    let buffer = ''
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      let nl: number
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        try {
          const line = JSON.parse(text) as FaultJobLine
          this.lines.push(line)
          this.seenAt.push(Date.now() - this.startedAt)
          if (line.event !== 'started') this.log(`job ${this.name}: ${line.event === 'done' ? `done, ${String(line.outcome)}` : `phase ${String(line.phase)}`}`)
          if (line.event === 'started' && this.port === 0) {
            this.port = Number(line.multiaddrs?.find(a => a.includes('/127.0.0.1/'))?.split('/')[4] ?? 0)
          }
        } catch { /* not one of ours */ }
      }
    })
    child.stderr!.on('data', (chunk: Buffer) => { this.stderr = (this.stderr + chunk.toString()).slice(-5000) })
    this.exit = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  }

  async restart (): Promise<void> {
    await this.exited()
    await this.start()
  }

  exited (): Promise<{ code: number | null, signal: NodeJS.Signals | null }> {
    return this.exit
  }

  line (what: string, test: (line: FaultJobLine) => boolean, timeoutMs = 120_000): Promise<FaultJobLine> {
    return until(`${this.name}: ${what}`, timeoutMs, async () => this.lines.find(test), 50)
      .catch((err: Error) => { throw new Error(`${err.message}; its phases: ${this.history()} (stderr: ${this.stderr.slice(-300)})`) })
  }

  /** The phases the job went through, each with the second it came: `offering 2 s, agreeing 9 s, …`. */
  history (): string {
    return this.lines.map((l, i) => `${l.event === 'phase' ? String(l.phase) : l.event} ${(this.seenAt[i]! / 1000).toFixed(0)} s`).join(', ')
  }

  async jobOfferId (): Promise<string> {
    return (await this.line('its job offer', l => l.jobOfferId !== undefined)).jobOfferId!
  }

  async dealId (): Promise<string> {
    return (await this.line('a deal', l => typeof l.dealId === 'string')).dealId!
  }

  phase (phase: JobCreatorPhase, timeoutMs?: number): Promise<FaultJobLine> {
    return this.line(`phase ${phase}`, l => l.event === 'phase' && l.phase === phase, timeoutMs)
  }

  /** The job's last line; by default waits as long as its deadlines let a deal last, and two minutes more. */
  done (timeoutMs = dealLifetimeMs(this.config) + 120_000): Promise<FaultJobLine> {
    return this.line('the end of its job', l => l.event === 'done', timeoutMs)
  }

  kill (): void {
    this.child?.kill('SIGKILL')
  }
}

export interface DealCheck {
  dealId: string
  outcome: string
  chainOutcome: string | undefined
  /** the deal's Payout and Slashed events are exactly what settle() computes, once */
  payoutsExact: boolean
  /** every party that holds the deal ends in the same state, on the same results */
  partiesAgree: boolean
  detail: string[]
}

export interface FaultNetwork {
  devnet: Devnet
  client: SettlementClient
  jobDirs: string[]
  moduleOf: (provider: string) => string
  status: (node: string) => Promise<{ deals: DealStatus[], resumedOutputs: number, pendingOutputs: number }>
  /** SIGKILLs `node` as soon as one of its deals satisfies `test`; returns that deal's status */
  killWhen: (node: string, what: string, test: (deal: DealStatus) => boolean, timeoutMs?: number) => Promise<DealStatus>
  waitFor: (node: string, what: string, test: (deal: DealStatus) => boolean, timeoutMs?: number) => Promise<DealStatus>
  restart: (node: string) => Promise<void>
  job: (name: string, options: { provider: string, checkRate?: number, challengeHonestResults?: boolean, wireOnlyChallenge?: boolean, chainOnlyChallenge?: boolean, noDocker?: boolean, mediators?: string[], deadlines?: Partial<FaultDeadlines> }) => FaultJob
  checkDeal: (done: FaultJobLine, parties: string[]) => Promise<DealCheck>
  /** every account's escrow balance against its start, plus what settle() moved for these deals and what was deposited meanwhile */
  checkBalances: (deals: Array<{ deal: Deal, outcome: DealOutcome }>) => Promise<{ ok: boolean, lines: string[] }>
  stop: () => Promise<void>
  /** name and data directory of every node and job creator */
  logDirs: () => Array<readonly [string, string]>
  /** `lilypad audit` of every node and job creator (after stop) */
  auditAll: () => Promise<Array<{ name: string, exitCode: number, report: AuditReport }>>
}

export async function startFaultNetwork (o: FaultNetworkOptions): Promise<FaultNetwork> {
  const log = o.log ?? (() => {})
  await mkdir(o.dir, { recursive: true })
  const imageId = await ensureCowsayImage()
  const repo = await createModuleRepo('cowsay', {
    into: join(o.dir, 'module'),
    substitutions: {
      [COWSAY_IMAGE_PLACEHOLDER]: imageId,
      '"/usr/local/bin/cowsay",': `"/bin/sh", "-c", "case \\"$0\\" in slow-*) sleep ${o.slowRunSeconds};; *) sleep ${o.runSeconds};; esac; exec /usr/local/bin/cowsay \\"$0\\"",`
    }
  })
  const providers = o.cheatingProviders + o.honestProviders
  const mirrors: Record<string, string> = {}
  const nodeConfig: Record<string, Record<string, unknown>> = {}
  const moduleName = (provider: string): string => `fault-${provider}`
  for (let i = 1; i <= providers; i++) {
    const provider = `provider-${i}`
    mirrors[moduleName(provider)] = repo.path
    mirrors[`github.com/Lilypad-Tech/lilypad-module-${moduleName(provider)}`] = repo.path
    nodeConfig[provider] = { modules: [`github.com/Lilypad-Tech/lilypad-module-${moduleName(provider)}`] }
  }
  const devnet = await startDevnet({
    dir: join(o.dir, 'devnet'),
    providers,
    cheatingProviders: o.cheatingProviders,
    solvers: 1,
    mediators: o.mediators,
    jobCreators: o.jobCreators,
    mirrors,
    nodeConfig,
    api: true,
    parallelStart: true,
    log
  })
  const { info } = devnet
  const client = await SettlementClient.open({ rpcUrl: info.rpcUrl, privateKey: info.jobCreatorKey, settlementAddress: info.settlementAddress })
  /** What settle() needs of a deal's end: the mediator of a verdict, the stake of a silent mediator that took the case. */
  const evidenceOf = async (deal: Deal, outcome: DealOutcome): Promise<Evidence> => {
    if (outcome === 'MediationAccepted' || outcome === 'MediationRejected') return { outcome, mediator: deal.mediators[0]! }
    if (outcome !== 'TimeoutMediate') return { outcome }
    // devnet mediators stake their whole deposit, far more than one case can cost them
    const record = await client.dealRecord(client.dealId(deal))
    return { outcome, boundStake: record.caseTaken ? DEVNET_DEPOSIT : 0n }
  }
  // Claims are sent when a node's clock passes a deadline; the chain must agree that it has
  // passed, so its clock runs a little ahead of the nodes' (block time has whole seconds).
  await increaseTime(client.provider, 2)
  const accounts = [...info.jobCreatorKeys.map(k => computeAddress(k)), ...info.nodes.map(n => n.address)]
  const initial = new Map<string, bigint>()
  for (const account of accounts) initial.set(account.toLowerCase(), await client.balanceOf(account))
  const startBlock = await client.provider.getBlockNumber()
  const jobDirs: string[] = []
  const jobs: FaultJob[] = []
  let nextKey = 0
  const configDir = join(o.dir, 'jobs')
  await mkdir(configDir, { recursive: true })
  const addressOf = (name: string): string => info.nodes.find(n => n.name === name)!.address

  const status: FaultNetwork['status'] = async (node) => {
    const api = devnet.node(node).started()?.api
    if (api === undefined || api === null) throw new Error(`${node} serves no API`)
    const res = await fetch(`${api}/status`, { signal: AbortSignal.timeout(2000) })
    return await res.json() as { deals: DealStatus[], resumedOutputs: number, pendingOutputs: number }
  }
  // a deal reaches a state no later than its deadlines let it: wait that long
  const waitFor: FaultNetwork['waitFor'] = async (node, what, test, timeoutMs = dealLifetimeMs(o.deadlines)) =>
    await until(`${node}: ${what}`, timeoutMs, async () => (await status(node)).deals.find(test))

  return {
    devnet,
    client,
    jobDirs,
    moduleOf: (provider) => `${moduleName(provider)}:${repo.tag}`,
    status,
    waitFor,
    killWhen: async (node, what, test, timeoutMs) => {
      const found = await waitFor(node, what, test, timeoutMs)
      await devnet.node(node).kill('SIGKILL')
      log(`killed ${node} at ${found.state}`)
      return found
    },
    restart: async (node) => {
      await devnet.node(node).restart()
      log(`restarted ${node}`)
    },
    job: (name, options) => {
      if (nextKey >= info.jobCreatorKeys.length) throw new Error('no funded job creator account left')
      const dataDir = join(o.dir, 'jobs', name)
      jobDirs.push(dataDir)
      const job = new FaultJob(name, {
        dataDir,
        privateKey: info.jobCreatorKeys[nextKey++]!,
        network: info.network,
        rpcUrl: info.rpcUrl,
        settlementAddress: info.settlementAddress,
        bootstrap: info.bootstrap,
        solvers: info.solvers,
        mediators: options.mediators?.map(addressOf) ?? [addressOf('mediator-1')],
        mirrors,
        module: `${moduleName(options.provider)}:${repo.tag}`,
        inputs: { Message: name },
        checkRate: options.checkRate ?? 0,
        challengeHonestResults: options.challengeHonestResults ?? false,
        wireOnlyChallenge: options.wireOnlyChallenge ?? false,
        chainOnlyChallenge: options.chainOnlyChallenge ?? false,
        noDocker: options.noDocker ?? false,
        ...o.deadlines,
        ...options.deadlines
      }, configDir, log)
      jobs.push(job)
      return job
    },
    checkDeal: async (done, parties) => {
      const detail: string[] = []
      const dealId = done.dealId ?? ''
      const outcome = done.outcome ?? 'unknown'
      const deal = done.deal as Deal
      // on a timeout, say what the chain last held: a deal left open names the state it stopped in
      let lastSeen = 'nothing (never read)'
      const record = await until(`deal ${dealId} settled on chain`, 30_000, async () => {
        const r = await client.dealRecord(dealId)
        lastSeen = r.state
        return r.state === 'Settled' ? r : undefined
      }, 200).catch((err: Error) => { throw new Error(`${err.message}; the chain last held it as ${lastSeen}, the job creator saw ${outcome}`) })
      const chainOutcome = record.outcome
      if (chainOutcome !== outcome) detail.push(`the chain settled ${String(chainOutcome)}, the job creator saw ${outcome}`)
      const expected = settle(deal, await evidenceOf(deal, outcome as DealOutcome))
      const payouts = await client.settlement.queryFilter(client.settlement.filters.Payout!(dealId), 0, 'latest')
      const slashes = await client.settlement.queryFilter(client.settlement.filters.Slashed!(dealId), 0, 'latest')
      const got = payouts.map(e => {
        const args = (e as unknown as { args: [string, string, bigint, bigint, bigint] }).args
        return `${PAYOUT_ROLES[Number(args[2])]}:${args[1].toLowerCase()}:${args[3]}`
      }).sort()
      const want = expected.transfers.map(t => `${t.role}:${t.to.toLowerCase()}:${t.amount}`).sort()
      const slashedGot = slashes.map(e => String((e as unknown as { args: [string, bigint, bigint, bigint] }).args[3])).sort()
      const slashedWant = expected.slashed.map(s => String(s.amount)).sort()
      const payoutsExact = JSON.stringify(got) === JSON.stringify(want) && JSON.stringify(slashedGot) === JSON.stringify(slashedWant)
      if (!payoutsExact) detail.push(`payouts ${JSON.stringify(got)} slashed ${JSON.stringify(slashedGot)}, settle() says ${JSON.stringify(want)} slashed ${JSON.stringify(slashedWant)}`)
      let agree = chainOutcome === outcome
      for (const party of parties) {
        const seen = await waitFor(party, `deal ${dealId.slice(0, 10)} final`, d => d.dealId === dealId && d.state === outcome, 45_000)
          .catch(async () => (await status(party).catch(() => ({ deals: [] as DealStatus[] }))).deals.find(d => d.dealId === dealId))
        if (seen?.state !== outcome) {
          agree = false
          detail.push(`${party} holds the deal as ${seen?.state ?? 'unknown'}`)
        } else if (outcome !== 'TimeoutSubmit' && seen.resultsCid !== done.resultsCid) {
          agree = false
          detail.push(`${party} names results ${String(seen.resultsCid)}, the job creator ${String(done.resultsCid)}`)
        }
      }
      return { dealId, outcome, chainOutcome, payoutsExact, partiesAgree: agree, detail }
    },
    checkBalances: async (deals) => {
      const expected = new Map(initial)
      const add = (account: string, amount: bigint): void => {
        const key = account.toLowerCase()
        expected.set(key, (expected.get(key) ?? 0n) + amount)
      }
      for (const { deal, outcome } of deals) {
        const s = settle(deal, await evidenceOf(deal, outcome))
        const locked = lockedBy(deal)
        add(deal.jobCreator, -locked.jobCreator)
        add(deal.resourceProvider, -locked.resourceProvider)
        for (const t of s.transfers) add(t.to, t.amount)
        // a silent mediator that took the case paid the parties from its stake
        for (const x of s.slashed) if (x.from === 'mediator') add(deal.mediators[0]!, -x.amount)
      }
      // and a deposit made meanwhile (a slashed mediator that restarts tops its stake up) is its owner's
      for (const e of await client.settlement.queryFilter(client.settlement.filters.Deposited!(), startBlock + 1, 'latest')) {
        const [account, amount] = (e as unknown as { args: [string, bigint] }).args
        add(account, amount)
      }
      const lines: string[] = []
      let ok = true
      for (const [account, want] of expected) {
        const got = await client.balanceOf(account)
        if (got !== want) {
          ok = false
          lines.push(`${account}: ${got} wei in escrow, expected ${want} (${got - want > 0n ? '+' : ''}${got - want})`)
        }
      }
      return { ok, lines }
    },
    stop: async () => {
      // a job creator still following a case that failed would hold its log open
      await Promise.all(jobs.map(async job => { job.kill(); await job.exited() }))
      await client.close()
      await devnet.stop()
    },
    logDirs: () => [...info.nodes.map(n => [n.name, n.dataDir] as const), ...jobDirs.map(d => [`job ${d.split('/').pop()!}`, d] as const)],
    auditAll: async () => {
      const dirs = [...info.nodes.map(n => [n.name, n.dataDir] as const), ...jobDirs.map(d => [`job ${d.split('/').pop()!}`, d] as const)]
      const out: Array<{ name: string, exitCode: number, report: AuditReport }> = []
      for (const [name, dir] of dirs) {
        const exitCode = await runAudit(dir, {}, roleDefinitions(), () => {})
        const eventLog: EventLogType = await EventLog.open(join(dir, 'log'), { inspect: true })
        try {
          out.push({ name, exitCode, report: await auditLog(eventLog, roleDefinitions(), { historyOf: () => true }) })
        } finally {
          await eventLog.close()
        }
      }
      return out
    }
  }
}
