import { existsSync } from 'node:fs'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join, resolve } from 'node:path'
import { EventLog } from '../../actors/eventlog/event-log.ts'
import { auditLog, type AuditReport } from '../../actors/audit.ts'
import { DealIndex, shortIds, type DealTrace, type KeptMessages } from '../../actors/audit-deal.ts'
import { compareDeal, type CrossReport, type PartyLog } from '../../actors/audit-across.ts'
import { attestedHeads, HeadsHeld, type HeldHead } from '../../actors/audit-heads.ts'
import { auditAgainstChain, type ChainReport } from '../../actors/audit-chain.ts'
import { auditMarkdown } from './audit-document.ts'
import type { ActorDefinition } from '../../actors/runtime/driver.ts'
import type { LogRecord } from '../../actors/eventlog/record.ts'
import { ActorRecord } from '../../actors/runtime/records.ts'
import { roleDefinitions } from '../definitions.ts'

export const LOG_FOLDER = 'log'

export interface AuditCommandOptions {
  deal?: string
  json?: boolean
  /** `text` (default), `json` (as --json), or `md`: a document with a summary, a table of deals and the findings */
  format?: string
  /** with `settlement`: hold the log against this chain */
  rpcUrl?: string
  settlement?: string
  /** the first block whose events are read (default 0); a decimal string from the command line */
  fromBlock?: string | number
}

type Write = (text: string) => void

const stdout: Write = (text) => process.stdout.write(text)
const stderr: Write = (text) => process.stderr.write(text)

const DEAL_ID = /^0x[0-9a-fA-F]{64}$/
const FORMATS = ['text', 'json', 'md']

class BadInput extends Error {}

interface OpenedLog {
  log: EventLog
  folder: string
  kept: KeptMessages
  close: () => Promise<void>
}

/** A node's log, for reading: a copy of it as it is now when a running node holds the folder. */
async function openLog (dataDir: string, command: string, err: Write): Promise<OpenedLog> {
  const folder = existsSync(join(dataDir, LOG_FOLDER)) ? join(dataDir, LOG_FOLDER) : dataDir
  if (!existsSync(join(folder, 'CURRENT'))) throw new BadInput(`no event log in ${resolve(dataDir)} (expected ${join(resolve(dataDir), LOG_FOLDER)})`)
  let log: EventLog
  let copy: string | undefined
  try {
    log = await EventLog.open(folder, { inspect: true })
  } catch (e) {
    if (!/lock/i.test((e as Error).message)) throw new BadInput((e as Error).message)
    // a running node holds the database: audit a copy of it as it is now (a table file a compaction
    // removes while it is copied makes the copy fail: it is taken again)
    copy = await mkdtemp(join(tmpdir(), 'lilypad-audit-'))
    for (let attempt = 1; ; attempt++) {
      try {
        await cp(folder, copy, { recursive: true, filter: (source) => basename(source) !== 'LOCK' })
        break
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw e
        await rm(copy, { recursive: true, force: true })
      }
    }
    log = await EventLog.open(copy, { inspect: true })
    err(`${command}: the node is running; auditing a copy of its log as of now (${resolve(dataDir)})\n`)
  }
  const bucket = log.bucket('messages')
  return {
    log,
    folder: resolve(folder),
    kept: async (key) => (await bucket.getMany([key]))[0],
    close: async () => {
      await log.close()
      if (copy !== undefined) await rm(copy, { recursive: true, force: true })
    }
  }
}

/**
 * `lilypad audit <data-dir> [--deal <id>]`: 0 when the whole log holds, 1 on any mismatch or
 * tampering, 2 on bad input. With a deal id or a job offer id, the deal's history as this log holds it.
 */
export async function runAudit (dataDir: string, options: AuditCommandOptions,
  definitions: Record<string, ActorDefinition> = roleDefinitions(), out: Write = stdout, err: Write = stderr): Promise<number> {
  if ((options.rpcUrl === undefined) !== (options.settlement === undefined)) {
    err('lilypad audit: --rpc-url and --settlement go together: the chain, and the settlement contract on it\n')
    return 2
  }
  const fromBlock = Number(options.fromBlock ?? 0)
  if (!Number.isSafeInteger(fromBlock) || fromBlock < 0) {
    err(`lilypad audit: --from-block is a block number, not ${String(options.fromBlock)}\n`)
    return 2
  }
  const format = options.format ?? (options.json === true ? 'json' : 'text')
  if (!FORMATS.includes(format)) {
    err(`lilypad audit: --format is one of ${FORMATS.join(', ')}, not ${format}\n`)
    return 2
  }
  let opened: OpenedLog
  try {
    opened = await openLog(dataDir, 'lilypad audit', err)
  } catch (e) {
    if (!(e instanceof BadInput)) throw e
    err(`lilypad audit: ${e.message}\n`)
    return 2
  }
  const deal = options.deal
  const onChain = options.rpcUrl !== undefined
  const index = deal === undefined && !onChain && format !== 'md' ? undefined : new DealIndex()
  const matches = deal === undefined ? undefined : (stream: string) => stream === deal || stream.endsWith(`:${deal}`)
  let report: AuditReport
  let trace: DealTrace | undefined
  try {
    report = await auditLog(opened.log, definitions, { historyOf: matches, observe: index?.observe })
    if (deal !== undefined && report.ok) trace = await index!.trace(opened.log, deal, opened.kept)
  } finally {
    await opened.close()
  }
  if (deal !== undefined && report.ok && trace === undefined && report.history?.length === 0) {
    err(`lilypad audit: no deal, job offer or stream ${deal} in this log\n`)
    return 2
  }
  let chain: ChainReport | undefined
  if (onChain && report.ok) {
    if (report.node === null) {
      err('lilypad audit: the log names no node, so the chain cannot be asked about it\n')
      return 2
    }
    try {
      chain = await againstChain(index!, report.node, options.rpcUrl!, options.settlement!, fromBlock)
    } catch (e) {
      // a chain that answers but refuses the search (public RPC nodes limit the blocks one search may
      // span) is asked again from a later block: the first block worth reading is the user's to give
      const refused = (e as { code?: string }).code !== 'CHAIN_UNAVAILABLE'
      const hint = refused && fromBlock === 0 ? ' (if the RPC node limits how many blocks one search may span, give --from-block <the block the node started at>)' : ''
      err(`lilypad audit: cannot hold the log against the chain: ${(e as Error).message}${hint}\n`)
      return 2
    }
  }
  if (format === 'md') {
    const deals = deal === undefined ? index!.dealIds().map(id => index!.summary(id)) : trace?.deals ?? []
    out(auditMarkdown({ folder: opened.folder, report, deals, trace, chain, at: Date.now() }))
  } else if (format === 'json') {
    // the deal's records are the report's history; the rest of the trace is the deal's
    const json = trace === undefined ? report : { ...report, history: trace.records, deal: { ...trace, records: undefined } }
    out(JSON.stringify(chain === undefined ? json : { ...json, chain }) + '\n')
  } else {
    const text = trace === undefined ? formatReport(opened.folder, report) : formatReport(opened.folder, { ...report, history: undefined }) + formatTrace(trace)
    out(chain === undefined ? text : text + formatChain(chain))
  }
  return report.ok && (trace?.problems.length ?? 0) === 0 && chain?.ok !== false ? 0 : 1
}

/** The log's deals against the chain, read with a throwaway key (nothing is sent). */
async function againstChain (index: DealIndex, node: string, rpcUrl: string, settlementAddress: string, fromBlock: number): Promise<ChainReport> {
  const { SettlementClient } = await import('../../settlement/index.ts')
  const { Wallet } = await import('ethers')
  const client = await SettlementClient.open({ rpcUrl, settlementAddress, privateKey: Wallet.createRandom().privateKey })
  try {
    return await auditAgainstChain(index, node, {
      dealRecord: async (dealId) => await client.dealRecord(dealId),
      dealEventsOf: async (account) => await client.dealEventsOf(account, fromBlock)
    })
  } finally {
    await client.close()
  }
}

/** The log against the chain, for people. */
export function formatChain (chain: ChainReport): string {
  const lines = [chain.ok
    ? `chain: OK, ${chain.checked} deal(s) of this node read on chain agree with the log, and the log holds every one of its ${chain.events} event(s) on chain`
    : `chain: FAILED, ${chain.findings.length} finding(s) (${chain.checked} deal(s) read, ${chain.events} event(s) of this node on chain)`]
  for (const f of chain.findings) lines.push(`  ${f.code} ${f.reason}`)
  return lines.join('\n') + '\n'
}

/**
 * `lilypad audit deal <deal-id> <data-dir>...`: each log audits, and the logs agree on the deal.
 * 0 when they do, 1 at the first disagreement (or a log that fails its audit), 2 on bad input.
 */
export async function runDealAudit (query: string, dataDirs: string[], options: { json?: boolean },
  definitions: Record<string, ActorDefinition> = roleDefinitions(), out: Write = stdout, err: Write = stderr): Promise<number> {
  const command = 'lilypad audit deal'
  const opened: OpenedLog[] = []
  try {
    if (!DEAL_ID.test(query)) throw new BadInput(`${query} is not a deal id or a job offer id (0x and 64 hex digits)`)
    if (dataDirs.length === 0) throw new BadInput('name the data directory of at least one party to the deal')
    for (const dir of dataDirs) opened.push(await openLog(dir, command, err))
    const audited: Array<{ dir: string, opened: OpenedLog, index: DealIndex, report: AuditReport, held: HeadsHeld }> = []
    for (const [i, o] of opened.entries()) {
      const index = new DealIndex()
      const held = new HeadsHeld()
      const report = await auditLog(o.log, definitions, { observe: (record, step) => { index.observe(record, step); held.observe(record) } })
      audited.push({ dir: resolve(dataDirs[i]!), opened: o, index, report, held })
    }
    const blank = (dealId: string): DealTrace => ({ query: dealId, kind: 'deal', deals: [], decisions: [], messages: [], deadlines: [], chain: [], problems: [], records: [] })
    let cross: CrossReport
    if (audited.some(a => !a.report.ok)) {
      // a log that fails its own audit tells nothing about the deal
      cross = compareDeal(query.toLowerCase(), audited.map(a => ({ name: a.dir, report: a.report, trace: blank(query.toLowerCase()) })))
    } else {
      const dealId = dealOf(query.toLowerCase(), audited)
      const parties: Array<PartyLog & { log: EventLog, held: HeldHead[] }> = []
      for (const a of audited) {
        const trace = await a.index.trace(a.opened.log, dealId, a.opened.kept)
        if (trace?.kind !== 'deal') throw new BadInput(`no deal ${dealId} in the log of ${a.dir}`)
        parties.push({ name: a.dir, report: a.report, trace, log: a.opened.log, held: await a.held.withKept(a.opened.log) })
      }
      cross = compareDeal(dealId, parties, await attestedHeads(parties))
    }
    out(options.json === true ? JSON.stringify(cross) + '\n' : formatCross(cross))
    return cross.ok ? 0 : 1
  } catch (e) {
    if (!(e instanceof BadInput)) throw e
    err(`${command}: ${e.message}\n`)
    return 2
  } finally {
    for (const o of opened) await o.close()
  }
}

/** The deal an id names across the logs: itself when any log holds it as a deal, else the one deal made for it as a job offer. */
function dealOf (id: string, logs: Array<{ dir: string, index: DealIndex }>): string {
  const found = logs.map(l => ({ dir: l.dir, index: l.index, resolved: l.index.resolve(id) }))
  if (found.some(f => f.resolved?.kind === 'deal')) return id
  // a job offer: the deal its job creator ended with, else the one deal the logs hold for it
  const chosen = found.map(f => f.index.creatorDealOf(id)).find(d => d !== null)
  if (chosen !== undefined && chosen !== null) return chosen
  const deals = [...new Set(found.flatMap(f => f.resolved?.deals ?? []))]
  if (deals.length === 1) return deals[0]!
  if (deals.length > 1) throw new BadInput(`job offer ${id} has ${deals.length} deals in these logs (${deals.join(', ')}): name one`)
  throw new BadInput(`no deal or job offer ${id} in ${found.every(f => f.resolved === undefined) ? 'any of these logs' : 'these logs: the job never reached a deal'}`)
}

export function formatReport (folder: string, report: AuditReport): string {
  const lines: string[] = []
  lines.push(report.ok ? `audit of ${folder}: OK` : `audit of ${folder}: FAILED at record ${report.failure!.seq}: ${report.failure!.reason} (${report.failure!.code})`)
  lines.push(`  node         ${report.node ?? '(unsigned log)'}`)
  lines.push(`  records      ${report.records}${report.ok ? '' : ' verified before the failure'}`)
  lines.push(`  checkpoints  ${report.checkpoints} signed by the node`)
  lines.push(`  replayed     ${report.replayed.inputs} inputs, ${report.replayed.outputs} outputs reproduced exactly`)
  lines.push(`  streams      ${report.streams.length}`)
  const width = Math.max(0, ...report.streams.map(s => s.stream.length))
  for (const s of report.streams) {
    lines.push(`    ${s.stream.padEnd(width)}  ${s.machine.padEnd(18)} ${JSON.stringify(s.state).padEnd(20)} ${s.records} records`)
  }
  if (report.history !== undefined) {
    lines.push('  history')
    for (const record of report.history) lines.push(`    ${describe(record)}`)
  }
  return lines.join('\n') + '\n'
}

const time = (ms: number): string => new Date(ms).toISOString()
const seqOf = (seq: number): string => `#${String(seq).padStart(6)}`

/** A deal's history in this log, for people. */
export function formatTrace (trace: DealTrace): string {
  const lines: string[] = []
  const title = trace.kind === 'deal' ? `deal ${trace.query}` : trace.kind === 'job' ? `job offer ${trace.query}` : `records about ${trace.query}`
  lines.push(`${title}: ${trace.records.length} records${trace.problems.length === 0 ? '' : `; FAILED: ${trace.problems.length} signed message(s) kept beside the log disagree with it`}`)
  if (trace.kind === 'job' && trace.deals.length === 0) lines.push('  no deal was made for this job offer in this log')
  for (const d of trace.deals) {
    if (trace.kind !== 'deal') lines.push(`  deal ${d.dealId}`)
    if (d.jobOfferId !== null && trace.kind === 'deal') lines.push(`  job offer    ${d.jobOfferId}`)
    const t = d.terms
    if (t !== null) {
      lines.push(`  parties      job creator ${t.jobCreator}, provider ${t.resourceProvider}, solver ${t.solver}, mediators ${t.mediators.join(', ')}`)
      lines.push(`  terms        price ${t.price}, solver fee ${t.solverFee}, mediator fee ${t.mediatorFee} wei; collateral: payment ${t.paymentCollateral}, results ${t.resultsCollateral}, timeouts ${t.timeoutCollateral} and ${t.jobCreatorTimeoutCollateral}`)
      lines.push(`  deadlines    agree ${time(t.agreeDeadline)}, submit ${time(t.submitDeadline)}, judge ${time(t.judgeDeadline)}, mediate ${time(t.mediateDeadline)}`)
    }
    for (const p of d.parties) {
      const results = p.resultsCid === null ? '' : `, results ${p.resultsCid}`
      const verdict = p.verdict === undefined ? '' : `, verdict ${p.verdict}`
      lines.push(`  outcome      ${p.role} (stream ${shortIds(p.stream)}): ${p.state}${p.outcome !== null && p.outcome !== p.state ? ` (${p.outcome})` : ''}${verdict}${results}`)
    }
  }
  if (trace.problems.length > 0) {
    lines.push('  kept messages that disagree with the log')
    for (const p of trace.problems) lines.push(`    ${seqOf(p.seq)} ${p.reason} (${p.code})`)
  }
  lines.push('  decisions (each input, and the outputs it caused about the deal)')
  for (const d of trace.decisions) {
    lines.push(`    ${seqOf(d.seq)} ${time(d.at)} ${shortIds(d.stream)}: ${shortIds(d.input)}`)
    for (const o of d.outputs) {
      const ack = o.ack === undefined ? ', not carried out yet' : o.ack.error === undefined ? `, done ${`#${o.ack.seq}`}` : `, failed ${`#${o.ack.seq}`}: ${o.ack.error}`
      lines.push(`      ${seqOf(o.seq)} -> ${o.type} ${shortIds(o.id)}: ${shortIds(o.summary)}${ack}`)
    }
    if (d.otherOutputs > 0) lines.push(`              (and ${d.otherOutputs} output(s) about other deals or offers)`)
    for (const a of d.armed) lines.push(`              armed ${shortIds(a.name)} for ${time(a.at)}`)
  }
  lines.push('  signed messages')
  for (const m of trace.messages) {
    const signatures = m.envelope === null ? '' : ` (${m.envelope.signatures.length} signature${m.envelope.signatures.length === 1 ? '' : 's'})`
    lines.push(`    ${seqOf(m.seq)} ${m.how.padEnd(15)} ${m.type} ${m.id ?? '(no id)'}${signatures}${m.kept === undefined ? '' : `, kept as ${shortIds(m.kept)}`}`)
  }
  lines.push('  deadlines armed')
  for (const a of trace.deadlines) {
    lines.push(`    ${seqOf(a.seq)} ${shortIds(a.name).padEnd(22)} ${time(a.at)}${a.fired === null ? '' : `, fired ${`#${a.fired}`}`} (${shortIds(a.stream)})`)
  }
  lines.push('  chain transactions asked for')
  if (trace.chain.length === 0) lines.push('    none')
  for (const c of trace.chain) {
    const ack = c.ack === undefined ? 'not carried out yet' : c.ack.error === undefined ? `done ${`#${c.ack.seq}`}` : `failed ${`#${c.ack.seq}`}: ${c.ack.error}`
    lines.push(`    ${seqOf(c.seq)} ${c.type} ${shortIds(c.id)}: ${shortIds(c.summary)}; ${ack}`)
    for (const r of c.results) lines.push(`      ${seqOf(r.seq)} <- ${shortIds(r.summary)}`)
  }
  return lines.join('\n') + '\n'
}

/** The check of a deal across logs, for people. */
export function formatCross (cross: CrossReport): string {
  const lines: string[] = []
  const d = cross.disagreement
  lines.push(d === undefined
    ? `audit of deal ${cross.dealId} across ${cross.logs.length} log(s): OK, they agree`
    : `audit of deal ${cross.dealId} across ${cross.logs.length} log(s): FAILED${d.seq === null ? '' : ` at record ${d.seq}`} of ${d.log}: ${d.reason} (${d.code})`)
  if (d?.other !== undefined) lines.push(`  against      ${d.other.seq === null ? '' : `record ${d.other.seq} of `}${d.other.log}`)
  for (const l of cross.logs) {
    const audit = l.audit.ok ? `audit OK, ${l.audit.records} records` : `audit FAILED at record ${l.audit.failure?.seq ?? '?'}`
    lines.push(`  ${l.log}`)
    lines.push(`    node ${l.node ?? '(unsigned log)'}; ${audit}; ${l.records} about the deal, ${l.messages} signed messages`)
    if (l.audit.ok) lines.push(`    witnessed to record ${l.witnessedTo} of ${l.audit.records} by heads the other logs hold${l.witnessedTo >= l.audit.records ? '' : `: the ${l.audit.records - l.witnessedTo} after it no other log saw`}`)
    for (const p of l.parties) lines.push(`    ${p.role}: ${p.state}${p.verdict === undefined ? '' : `, verdict ${p.verdict}`}${p.resultsCid === null ? '' : `, results ${p.resultsCid}`}`)
  }
  if (d === undefined) {
    lines.push(`  terms        the same in every log that holds them, and they hash to the deal id`)
    lines.push(`  messages     ${cross.shared} signed message(s) held by more than one log, the same byte for byte`)
    lines.push(`  log heads    ${cross.heads} head(s) a node signed with its messages and notices, each in its own log as signed`)
    const outcomes = [...new Set(cross.logs.flatMap(l => l.parties.map(p => p.outcome)).filter(o => o !== null))]
    const results = [...new Set(cross.logs.flatMap(l => l.parties.map(p => p.resultsCid)).filter(r => r !== null))]
    lines.push(`  results      ${results.length === 0 ? 'none recorded' : results.join(', ')}`)
    lines.push(`  outcome      ${outcomes.length === 0 ? 'none recorded yet' : outcomes.join(', ')}`)
  }
  return lines.join('\n') + '\n'
}

function describe (record: LogRecord): string {
  const data = record.data as Record<string, { type?: string, id?: string } | string | undefined>
  let what: string
  switch (record.type) {
    case ActorRecord.open: what = `open   ${String(data.machine)}`; break
    case ActorRecord.input: what = `input  ${(data.event as { type?: string }).type ?? '?'}`; break
    case ActorRecord.output: what = `output ${(data.output as { type?: string }).type ?? '?'} ${(data.output as { id?: string }).id ?? ''}`; break
    case ActorRecord.ack: what = `ack    ${String(data.id)}${data.error === undefined ? '' : ` failed: ${String(data.error)}`}`; break
    default: what = record.type
  }
  return `${seqOf(record.seq)} ${time(record.at)} ${what}`
}
