/**
 * `lilypad audit --format md`: the audit of a node's log as a document a person can read and attach
 * to a dispute: a summary, a table of the deals the log holds (each party's state, outcome and
 * results), and every finding (a bad record, a kept message that disagrees, a disagreement with the
 * chain).
 */
import type { AuditReport } from '../../actors/audit.ts'
import type { ChainReport } from '../../actors/audit-chain.ts'
import type { DealSummary, DealTrace } from '../../actors/audit-deal.ts'

export interface AuditDocument {
  folder: string
  report: AuditReport
  deals: DealSummary[]
  trace?: DealTrace
  chain?: ChainReport
  /** when the document was written, ms */
  at: number
}

export function auditMarkdown (d: AuditDocument): string {
  const { report } = d
  const findings = findingsOf(d)
  const lines: string[] = []
  lines.push(`# Audit of ${d.folder}`, '')
  lines.push(`**${findings.length === 0 ? 'OK' : `FAILED: ${findings.length} finding(s)`}**, written ${new Date(d.at).toISOString()}.`, '')
  lines.push('## Summary', '')
  lines.push('| | |', '|---|---|')
  lines.push(`| node | ${report.node ?? '(unsigned log)'} |`)
  lines.push(`| records | ${report.records}${report.ok ? '' : ' verified before the failure'} |`)
  lines.push(`| checkpoints | ${report.checkpoints} signed by the node |`)
  lines.push(`| replay | ${report.replayed.inputs} inputs, ${report.replayed.outputs} outputs reproduced exactly |`)
  lines.push(`| streams | ${report.streams.length} |`)
  lines.push(`| chain | ${d.chain === undefined ? 'not asked' : `${d.chain.checked} deal(s) read on chain, ${d.chain.events} event(s) of the node on chain looked for in the log`} |`)
  lines.push('')
  lines.push('## Deals', '')
  if (d.deals.length === 0) lines.push('The log holds no deal.')
  else {
    lines.push('| deal | job offer | party | state | outcome | results | price (wei) |', '|---|---|---|---|---|---|---|')
    for (const deal of d.deals) {
      const price = deal.terms?.price ?? ''
      for (const p of deal.parties) {
        lines.push(`| \`${deal.dealId}\` | ${deal.jobOfferId === null ? '' : `\`${deal.jobOfferId}\``} | ${p.role} | ${p.state} | ${p.outcome ?? p.verdict ?? ''} | ${p.resultsCid ?? ''} | ${price} |`)
      }
    }
  }
  lines.push('')
  lines.push('## Findings', '')
  if (findings.length === 0) lines.push('None: every record checks out, replay reproduces every output' + (d.chain === undefined ? '.' : ', and the log agrees with the chain.'))
  else for (const f of findings) lines.push(`- ${f}`)
  return lines.join('\n') + '\n'
}

function findingsOf (d: AuditDocument): string[] {
  const out: string[] = []
  const failure = d.report.failure
  if (failure !== undefined) out.push(`record ${failure.seq}: ${failure.reason} (\`${failure.code}\`)`)
  for (const p of d.trace?.problems ?? []) out.push(`record ${p.seq}: ${p.reason} (\`${p.code}\`)`)
  for (const f of d.chain?.findings ?? []) out.push(`deal \`${f.dealId}\`: ${f.reason} (\`${f.code}\`)`)
  return out
}
