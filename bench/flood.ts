// npm run bench -- flood: three honest nodes (a solver, a provider and a mediator, each its own
// process on a devnet) and job creators that offer one job after another, first in quiet, then
// while an attacker (bench/flood-attacker.ts, a process of its own) floods the victims for a bounded
// time: valid offers from many unfunded keys, attachment-heavy direct messages, half-signed deal
// spam and DHT provider records. It reports the victims' peak RSS, how much their data grew, the
// share of honest jobs matched under the flood, their time to match against the quiet run, and the
// score the victims give the attacker's peers.
import '../src/polyfills.ts'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { startDemoNetwork, type DemoNetwork } from '../src/cli/demo/demo-network.ts'
import { runJob } from '../src/node/jobs/job-client.ts'
import { devnetJobOptions } from '../src/devnet/devnet.ts'
import type { AttackPlan } from './flood-attacker.ts'
import { report, round } from './report.ts'
import { LevelDatastore } from 'datastore-level'
import { DEFAULT_NODE_LIMITS } from '../src/node/limits.ts'

const exec = promisify(execFile)
/** honest jobs in each run, one after another */
const JOBS = 4
/** how long the attacker floods (LILYPAD_FLOOD_MS to change it) */
const FLOOD_MS = Number(process.env.LILYPAD_FLOOD_MS ?? 40_000)
const ATTACKER_IDENTITIES = 8
const VICTIM_DHT_RECORDS = 50
const ATTACKER = fileURLToPath(new URL('./flood-attacker.ts', import.meta.url))

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Runs cowsay jobs one after another; for each, ms from its start to its match, or undefined if it did not finish. */
async function honestJobs (net: DemoNetwork, root: string, label: string, until?: () => boolean): Promise<Array<number | undefined>> {
  const times: Array<number | undefined> = []
  for (let i = 0; i < JOBS || (until !== undefined && !until()); i++) {
    const started = performance.now()
    let matchedAt: number | undefined
    const ok = await runJob({
      module: 'cowsay:v0.0.1',
      inputs: { Message: `${label} ${i}` },
      dataDir: await mkdtemp(join(root, `${label}-${i}-`)),
      ...devnetJobOptions(net.info, 0),
      checkRate: 0,
      matchWithinMs: 60_000,
      onPhase: (phase) => { if (phase === 'matched') matchedAt ??= performance.now() }
    }).then(() => true, (err: Error) => { process.stderr.write(`bench flood: ${label} job ${i}: ${err.message}\n`); return false })
    times.push(ok && matchedAt !== undefined ? matchedAt - started : undefined)
  }
  return times
}

async function rssMb (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

async function diskMb (dir: string): Promise<number> {
  const { stdout } = await exec('du', ['-sb', dir])
  return Number(stdout.split('\t')[0]) / 1e6
}

async function statusOf (api: string | null | undefined): Promise<{ peerScores?: Record<string, number>, validation?: Array<{ code: string, count: number }> } | undefined> {
  if (api == null) return undefined
  const res = await fetch(`${api.replace(/\/$/, '')}/status`).catch(() => undefined)
  return res?.ok === true ? await res.json() as never : undefined
}

interface AttackReport { peers: string[], sent: Record<string, number>, errors: Record<string, string> }

async function dhtRecordsIn (dataDir: string): Promise<number> {
  const store = new LevelDatastore(join(dataDir, 'peers'))
  await store.open()
  let count = 0
  for await (const _ of store.queryKeys({ prefix: '/dht/' })) count++
  await store.close()
  return count
}

function attack (plan: AttackPlan): { peers: () => string[], flooding: Promise<number>, done: Promise<AttackReport> } {
  // at the lowest priority: on the machine of its victims, an attacker's own signing would otherwise
  // take their CPU, which an attacker elsewhere could not
  const child = spawn('nice', ['-n', '19', process.execPath, '--import', 'tsx', ATTACKER, JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  let peers: string[] = []
  let started!: (at: number) => void
  const flooding = new Promise<number>(resolve => { started = resolve })
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
    // its first line names its peers, once it starts flooding
    if (peers.length === 0 && out.includes('\n')) {
      peers = (JSON.parse(out.split('\n')[0]!) as { peers: string[] }).peers
      started(Date.now())
    }
  })
  child.stderr.on('data', (chunk: Buffer) => { err = (err + chunk.toString()).slice(-4000) })
  const done = new Promise<AttackReport>((resolve, reject) => {
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? ''
      try {
        resolve(JSON.parse(line))
      } catch {
        reject(new Error(`the attacker exited (${code}) without its report: ${err.trim().split('\n').slice(-3).join(' | ')}`))
      }
    })
  })
  // a failure is awaited where the report is read: do not let it go unhandled before then
  done.catch(() => undefined)
  done.then(() => started(Date.now()), () => started(Date.now()))
  return { peers: () => peers, flooding, done }
}

export async function run (): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'lilypad-bench-flood-'))
  // the victims hold few DHT records, so that the attacker's records meet the bound within the run
  const limits = { limits: { dhtMaxRecords: VICTIM_DHT_RECORDS } }
  const nodeConfig = Object.fromEntries(['solver-1', 'mediator-1', 'provider-1'].map(name => [name, limits]))
  const net = await startDemoNetwork({ dir: join(root, 'devnet'), providers: 1, solvers: 1, mediators: 1, api: true, nodeConfig })
  let dataDirs: string[] = []
  try {
    const victims = net.nodes.map(handle => ({ name: handle.name, pid: handle.process.pid!, dataDir: net.info.nodes.find(n => n.name === handle.name)!.dataDir, api: handle.started()?.api }))
    // warm up (images, modules, connections), then the quiet baseline
    await honestJobs(net, root, 'warm-up')
    const quiet = await honestJobs(net, root, 'quiet')

    const diskBefore = await Promise.all(victims.map(v => diskMb(v.dataDir)))
    let peakRss = 0
    const sampler = setInterval(() => {
      Promise.all(victims.map(v => rssMb(v.pid))).then(values => { peakRss = Math.max(peakRss, ...values) }, () => undefined)
    }, 250)
    const provider = net.info.nodes.find(n => n.roles.includes('resource-provider'))!
    const plan: Omit<AttackPlan, 'mode' | 'identities'> = {
      network: net.info.network,
      chainId: net.info.chainId,
      settlement: net.info.settlementAddress,
      bootstrap: net.info.bootstrap,
      solvers: net.info.solvers,
      mediators: net.info.mediators,
      provider: { multiaddr: provider.multiaddrs[0]!, address: provider.address },
      durationMs: FLOOD_MS
    }
    const attacker = attack({ ...plan, mode: 'offers', identities: ATTACKER_IDENTITIES })
    const direct = attack({ ...plan, mode: 'direct', identities: 3 })
    // what the victims think of the attacker's peers, read while they are connected
    const scores = new Map<string, number>()
    let statuses: Array<Awaited<ReturnType<typeof statusOf>>> = []
    const readStatuses = async (): Promise<void> => {
      statuses = await Promise.all(victims.map(v => statusOf(v.api)))
      for (const [i, s] of statuses.entries()) for (const p of [...attacker.peers(), ...direct.peers()]) if (s?.peerScores?.[p] !== undefined) scores.set(`${i}:${p}`, s.peerScores[p])
    }
    const statusSampler = setInterval(() => { readStatuses().catch(() => undefined) }, 3000)
    // the flood is under way before the first honest job, and jobs go on while it lasts
    const started = Math.max(await attacker.flooding, await direct.flooding)
    await new Promise(resolve => setTimeout(resolve, 3000))
    const flooded = await honestJobs(net, root, 'flood', () => Date.now() > started + FLOOD_MS)
    const [offered, sentDirect] = await Promise.all([attacker.done, direct.done])
    const sent = { ...offered.sent, ...Object.fromEntries(Object.entries(sentDirect.sent).filter(([k]) => !['offers', 'jobs', 'gossipRecipients'].includes(k))), refused: offered.sent.refused! + sentDirect.sent.refused! }
    const errors = { ...offered.errors, ...sentDirect.errors }
    clearInterval(sampler)
    clearInterval(statusSampler)
    await readStatuses()
    const diskAfter = await Promise.all(victims.map(v => diskMb(v.dataDir)))
    const growth = diskAfter.reduce((sum, after, i) => sum + Math.max(0, after - diskBefore[i]!), 0)
    const matched = flooded.filter(t => t !== undefined) as number[]
    const quietMatched = quiet.filter(t => t !== undefined) as number[]
    const ignored: Record<string, number> = {}
    for (const s of statuses) for (const c of s?.validation ?? []) if (c.code !== 'OK') ignored[c.code] = (ignored[c.code] ?? 0) + c.count

    report({ bench: 'flood', metric: 'flood_victim_rss_mb', value: round(peakRss), unit: 'MB', goal: '<=300', victims: victims.length })
    report({ bench: 'flood', metric: 'flood_victim_log_growth_mb', value: round(growth), unit: 'MB', goal: '<=50', flood_s: FLOOD_MS / 1000, sent, errors })
    report({ bench: 'flood', metric: 'flood_honest_matched', value: round(matched.length / flooded.length), unit: 'share', goal: '=1', jobs: flooded.length })
    const ratio = median(matched) / median(quietMatched)
    report({ bench: 'flood', metric: 'flood_match_time_ratio', value: round(ratio), unit: 'x', goal: '<=2', baseline: round(median(quietMatched)), flooded_ms: round(median(matched)), ratio: round(ratio) })
    dataDirs = victims.map(v => v.dataDir)
    report({ bench: 'flood', metric: 'flood_attacker_score', value: round(scores.size > 0 ? Math.min(...scores.values()) : 0), unit: 'gossipsub score', peers_scored: scores.size, dropped_by_code: ignored })
  } finally {
    await net.stop()
    // the DHT records the victims hold, read from their peer stores once they have stopped
    if (dataDirs.length > 0) {
      const held = await Promise.all(dataDirs.map(dhtRecordsIn))
      report({ bench: 'flood', metric: 'flood_victim_dht_records', value: Math.max(...held), unit: 'records', goal: `<=${VICTIM_DHT_RECORDS}`, default_limit: DEFAULT_NODE_LIMITS.dhtMaxRecords })
    }
    // LILYPAD_FLOOD_KEEP=1 keeps the devnet's data and node logs for a look afterwards
    if (process.env.LILYPAD_FLOOD_KEEP === undefined) await rm(root, { recursive: true, force: true })
    else process.stderr.write(`bench flood: kept ${root}\n`)
  }
}
