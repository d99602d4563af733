/**
 * The log heads of other nodes that a log holds, and each held against the log of the node that
 * signed it. A node signs its head into every direct message (logged with the message where it is
 * received), into every head notice (logged in a `witness` record) and into its answer to a notice
 * (kept beside the noticing node's log). A log shorter than a head its node signed was cut short; a
 * log whose record there hashes otherwise was rewritten. The records are chained by hash, so the
 * newest head a counterparty holds vouches for every record below it.
 */
import type { EventLog } from './eventlog/event-log.ts'
import type { LogRecord } from './eventlog/record.ts'
import type { AttestedHead, PartyLog } from './audit-across.ts'
import { RECEIPT_PREFIX, WITNESS_RECORD } from './roles/log-witness.ts'
import { headSigner, isSignedHead, type SignedHead } from '../protocols/messages/log-head.ts'
import { ActorRecord } from './runtime/records.ts'

export interface HeldHead {
  head: SignedHead
  /** the address that signed it, lower case */
  signer: string
  /** the record of the holding log it is in; null for an answer kept beside the log */
  seq: number | null
}

/** The heads a log holds in its records, read as the audit reads the log: pass `observe` to it. */
export class HeadsHeld {
  readonly heads: HeldHead[] = []

  readonly observe = (record: LogRecord): void => {
    const head = record.type === WITNESS_RECORD ? record.data
      : record.type === ActorRecord.input ? receivedHead(record) : undefined
    if (!isSignedHead(head)) return
    const signer = headSigner(head)?.toLowerCase()
    if (signer !== undefined) this.heads.push({ head, signer, seq: record.seq })
  }

  /** With the answers to this node's notices, kept beside the log. */
  async withKept (log: EventLog): Promise<HeldHead[]> {
    const kept: HeldHead[] = []
    for await (const [, value] of log.bucket('messages').iterator({ gte: RECEIPT_PREFIX, lt: RECEIPT_PREFIX.slice(0, -1) + ';' })) {
      let head: unknown
      try {
        head = JSON.parse(value)
      } catch {
        continue
      }
      const signer = isSignedHead(head) ? headSigner(head)?.toLowerCase() : undefined
      if (signer !== undefined) kept.push({ head: head as SignedHead, signer, seq: null })
    }
    return [...this.heads, ...kept]
  }
}

function receivedHead (record: LogRecord): unknown {
  const event = (record.data as { event?: { type?: unknown, head?: unknown } }).event
  return event?.type === 'message.received' ? event.head : undefined
}

/**
 * Each head a party's log holds of another party, with what that party's log holds at its record.
 * Every head that came with a message about the deal is checked; of the others, the newest each
 * log holds of each node, which vouches for all below it.
 */
export async function attestedHeads (parties: Array<PartyLog & { log: EventLog, held: readonly HeldHead[] }>): Promise<AttestedHead[]> {
  const out: AttestedHead[] = []
  for (const holder of parties) {
    const inDeal = new Set(holder.trace.records.map(r => r.seq))
    for (const p of parties) {
      const node = p.report.node?.toLowerCase()
      if (p === holder || node === undefined) continue
      const of = holder.held.filter(h => h.signer === node)
      const newest = of.reduce<HeldHead | undefined>((best, h) => best === undefined || h.head.seq > best.head.seq ? h : best, undefined)
      for (const h of of) {
        if (h !== newest && (h.seq === null || !inDeal.has(h.seq))) continue
        const actual = h.head.seq > p.report.records ? undefined : await p.log.get(h.head.seq)
        out.push({ log: p.name, seq: h.head.seq, hash: h.head.hash, actual: actual?.hash ?? null, holder: holder.name, holderSeq: h.seq })
      }
    }
  }
  return out
}
