/**
 * The nodes' own words, short, for the report of a failed end-to-end test: each node's node.log
 * (pino JSON lines), one line a record, with the time since `since` and its telling fields.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

const FIELDS = ['requestId', 'jobOfferId', 'dealId', 'from', 'to', 'effect', 'stream', 'code', 'reason', 'why', 'err'] as const

const short = (value: unknown): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return /^0x[0-9a-f]{64}$/i.test(text) ? text.slice(0, 10) : text.slice(0, 200)
}

/** One line of a node.log, digested; undefined where it is not a JSON record. */
export function digestLine (line: string, since: number): string | undefined {
  let record: Record<string, unknown>
  try {
    record = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line.trim() === '' ? undefined : line.slice(0, 200)
  }
  // messages sent and published: the deal lines around them say what they were
  if (typeof record.effect === 'string' && record.effect.startsWith('message.')) return undefined
  const at = typeof record.time === 'number' ? `${((record.time - since) / 1000).toFixed(1)} s` : '-'
  const fields = FIELDS.filter(f => record[f] !== undefined && record[f] !== null).map(f => `${f}=${short(record[f])}`)
  return `[${at}] ${String(record.msg ?? '')} ${fields.join(' ')}`.trimEnd()
}

/** The last `lines` records of each node's node.log, digested. */
export async function nodeLogDigest (nodes: Array<{ name: string, dataDir: string }>, since: number, lines = 120): Promise<string> {
  const parts: string[] = []
  for (const node of nodes) {
    const text = await readFile(join(node.dataDir, 'node.log'), 'utf8').catch(() => '')
    const digested = text.split('\n').map(l => digestLine(l, since)).filter((l): l is string => l !== undefined)
    parts.push(`--- ${node.name} (${digested.length} records${digested.length > lines ? `, the last ${lines}` : ''})`, ...digested.slice(-lines))
  }
  return parts.join('\n')
}
