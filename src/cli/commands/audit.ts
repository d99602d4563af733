import { existsSync } from 'node:fs'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { EventLog } from '../../actors/eventlog/event-log.ts'
import { auditLog, type AuditReport } from '../../actors/audit.ts'
import type { ActorDefinition } from '../../actors/runtime/driver.ts'
import type { LogRecord } from '../../actors/eventlog/record.ts'
import { ActorRecord } from '../../actors/runtime/records.ts'
import { roleDefinitions } from '../definitions.ts'

export const LOG_FOLDER = 'log'

export interface AuditCommandOptions {
  deal?: string
  json?: boolean
}

/** `lilypad audit <data-dir>`: 0 when the whole log holds, 1 on any mismatch or tampering, 2 on bad input. */
export async function runAudit (dataDir: string, options: AuditCommandOptions,
  definitions: Record<string, ActorDefinition> = roleDefinitions(),
  out: (text: string) => void = (text) => process.stdout.write(text)): Promise<number> {
  const folder = existsSync(join(dataDir, LOG_FOLDER)) ? join(dataDir, LOG_FOLDER) : dataDir
  if (!existsSync(join(folder, 'CURRENT'))) {
    process.stderr.write(`lilypad audit: no event log in ${resolve(dataDir)} (expected ${join(resolve(dataDir), LOG_FOLDER)})\n`)
    return 2
  }
  let log: EventLog
  let copy: string | undefined
  try {
    log = await EventLog.open(folder, { inspect: true })
  } catch (err) {
    if (!/lock/i.test((err as Error).message)) {
      process.stderr.write(`lilypad audit: ${(err as Error).message}\n`)
      return 2
    }
    // a running node holds the database: audit a copy of it as it is now
    copy = await mkdtemp(join(tmpdir(), 'lilypad-audit-'))
    await cp(folder, copy, { recursive: true })
    log = await EventLog.open(copy, { inspect: true })
    process.stderr.write(`lilypad audit: the node is running; auditing a copy of its log as of now\n`)
  }
  const deal = options.deal
  const matches = deal === undefined ? undefined : (stream: string) => stream === deal || stream.endsWith(`:${deal}`)
  let report: AuditReport
  try {
    report = await auditLog(log, definitions, { historyOf: matches })
  } finally {
    await log.close()
    if (copy !== undefined) await rm(copy, { recursive: true, force: true })
  }
  if (deal !== undefined && report.history?.length === 0 && report.ok) {
    process.stderr.write(`lilypad audit: no stream or deal ${deal} in this log\n`)
    return 2
  }
  out(options.json === true ? JSON.stringify(report) + '\n' : formatReport(resolve(folder), report))
  return report.ok ? 0 : 1
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

function describe (record: LogRecord): string {
  const time = new Date(record.at).toISOString()
  const data = record.data as Record<string, { type?: string, id?: string } | string | undefined>
  let what: string
  switch (record.type) {
    case ActorRecord.open: what = `open   ${String(data.machine)}`; break
    case ActorRecord.input: what = `input  ${(data.event as { type?: string }).type ?? '?'}`; break
    case ActorRecord.output: what = `output ${(data.output as { type?: string }).type ?? '?'} ${(data.output as { id?: string }).id ?? ''}`; break
    case ActorRecord.ack: what = `ack    ${String(data.id)}${data.error === undefined ? '' : ` failed: ${String(data.error)}`}`; break
    default: what = record.type
  }
  return `#${String(record.seq).padStart(6)} ${time} ${what}`
}

export function registerAudit (program: Command): void {
  program.command('audit')
    .description('verify a node\'s event log offline: hash chain, checkpoint signatures, and that replay reproduces every output')
    .argument('<data-dir>', 'the node\'s data directory (or its log folder)')
    .option('--deal <id>', 'print the history of one deal (or stream)')
    .option('--json', 'print the report as JSON')
    .action(async (dataDir: string, options: AuditCommandOptions) => {
      process.exitCode = await runAudit(dataDir, options)
    })
}
