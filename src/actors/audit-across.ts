/**
 * One deal across the logs of its parties. Each party's log can be sound on its own (every hash,
 * checkpoint and replayed output holds) and still tell another story than its counterparty's: the
 * check here holds the logs against each other. They must name the same deal under the same terms,
 * hold the same bytes for every signed message two of them hold (signatures included: a Deal may
 * have gathered one more in one of them), record the same results and compatible outcomes; and
 * the messages a node keeps beside its log, outside the hash chain, must be those its log sent.
 */
import { canonicalJson } from './eventlog/canonical-json.ts'
import type { AuditReport } from './audit.ts'
import { sameSignedMessage, type DealTrace, type PartyView, type SignedMessage } from './audit-deal.ts'
import { nodeMessages } from '../protocols/messages/signing.ts'
import type { Envelope } from '../protocols/messages/envelope.ts'
import { toDomain, type DomainJson } from '../state-machines/common.ts'

export interface PartyLog {
  /** how reports name the log: its data directory */
  name: string
  report: AuditReport
  /** the deal as this log holds it */
  trace: DealTrace
}

export type DisagreementCode = 'ERR_AUDIT' | 'ERR_DOMAIN' | 'ERR_DEAL_ID' | 'ERR_TERMS' | 'ERR_NODE' | 'ERR_HEAD' | 'ERR_MESSAGE' | 'ERR_KEPT' | 'ERR_RESULTS' | 'ERR_OUTCOME'

export interface Disagreement {
  code: DisagreementCode
  /** the log that holds it */
  log: string
  /** the record it is at, when one record holds it */
  seq: number | null
  reason: string
  /** the log it disagrees with, and where */
  other?: { log: string, seq: number | null }
}

export interface PartySummary {
  log: string
  node: string | null
  audit: { ok: boolean, records: number, failure?: AuditReport['failure'] }
  parties: PartyView[]
  /** records about the deal */
  records: number
  /** signed messages about the deal it holds */
  messages: number
  /**
   * the newest of its records under a head its node signed that another of these logs holds (0:
   * none): a log could be cut after it unseen, as nobody here saw what follows
   */
  witnessedTo: number
}

export interface CrossReport {
  ok: boolean
  dealId: string
  logs: PartySummary[]
  /** signed messages held by more than one log, each found the same in all */
  shared: number
  /** log heads a node signed and another log holds, each checked against the node's log */
  heads: number
  disagreement?: Disagreement
}

/**
 * A log head a node signed and sent with a message, as another party's log holds it, with what the
 * node's own log holds at that record (null: the log ends before it).
 */
export interface AttestedHead {
  /** the log of the node that signed the head */
  log: string
  seq: number
  hash: string
  actual: string | null
  /** the log that holds it, and the record (null: an answer to that log's head notice, kept beside it) */
  holder: string
  holderSeq: number | null
}

/** Holds the logs against each other; stops at the first disagreement, in the order of the checks and of the logs. */
export function compareDeal (dealId: string, logs: PartyLog[], attested: readonly AttestedHead[] = []): CrossReport {
  const report: CrossReport = {
    ok: true,
    dealId,
    logs: logs.map(l => ({
      log: l.name,
      node: l.report.node,
      audit: { ok: l.report.ok, records: l.report.records, ...(l.report.failure === undefined ? {} : { failure: l.report.failure }) },
      parties: l.trace.deals[0]?.parties ?? [],
      records: l.trace.records.length,
      messages: l.trace.messages.filter(m => m.envelope !== null).length,
      witnessedTo: Math.max(0, ...attested.filter(h => h.log === l.name && h.actual === h.hash).map(h => h.seq))
    })),
    shared: 0,
    heads: attested.length
  }
  const shared = { count: 0 }
  const disagreement = audits(logs) ?? domains(logs) ?? terms(dealId, logs) ?? nodes(logs) ?? messages(logs, shared) ?? heads(attested) ?? kept(logs) ?? results(logs) ?? outcomes(logs)
  report.shared = shared.count
  if (disagreement !== undefined) {
    report.ok = false
    report.disagreement = disagreement
  }
  return report
}

function audits (logs: PartyLog[]): Disagreement | undefined {
  for (const l of logs) {
    const f = l.report.failure
    if (l.report.ok || f === undefined) continue
    return { code: 'ERR_AUDIT', log: l.name, seq: f.seq, reason: `its log fails the audit at record ${f.seq}: ${f.reason} (${f.code})` }
  }
  return undefined
}

function domainOf (l: PartyLog): DomainJson | null {
  return l.trace.deals[0]?.domain ?? null
}

function domains (logs: PartyLog[]): Disagreement | undefined {
  const first = logs.find(l => domainOf(l) !== null)
  if (first === undefined) return undefined
  for (const l of logs) {
    const d = domainOf(l)
    if (d === null || canonicalJson(d) === canonicalJson(domainOf(first))) continue
    return {
      code: 'ERR_DOMAIN', log: l.name, seq: null, other: { log: first.name, seq: null },
      reason: `its deal is on chain ${d.chainId} at ${d.verifyingContract}, the other's on chain ${domainOf(first)!.chainId} at ${domainOf(first)!.verifyingContract}`
    }
  }
  return undefined
}

/** The record where a log holds the deal's signed terms: the first Deal message about it. */
function termsSeq (l: PartyLog, dealId: string): number | null {
  return l.trace.messages.find(m => m.type === 'Deal' && m.id === dealId)?.seq ?? null
}

function terms (dealId: string, logs: PartyLog[]): Disagreement | undefined {
  let first: PartyLog | undefined
  for (const l of logs) {
    const t = l.trace.deals[0]?.terms ?? null
    const domain = domainOf(l)
    if (t === null) continue
    if (domain !== null) {
      let id: string | undefined
      try {
        id = nodeMessages.id(toDomain(domain), 'Deal', t).toLowerCase()
      } catch {
        id = undefined
      }
      if (id !== dealId) return { code: 'ERR_DEAL_ID', log: l.name, seq: termsSeq(l, dealId), reason: `the terms it holds for the deal hash to ${id ?? 'nothing'}, not to the deal id` }
    }
    if (first === undefined) {
      first = l
      continue
    }
    const theirs = first.trace.deals[0]!.terms!
    const field = firstDifference(theirs, t)
    if (field === undefined) continue
    return {
      code: 'ERR_TERMS', log: l.name, seq: termsSeq(l, dealId), other: { log: first.name, seq: termsSeq(first, dealId) },
      reason: `the deal's terms differ in ${field}`
    }
  }
  return undefined
}

/**
 * Each log is kept by the party it plays in the deal: its genesis record names the node whose key
 * signs its checkpoints, and that node is the deal's job creator, provider, solver or one of its
 * mediators, as the role it plays. A log rewritten under another key audits on its own (its
 * checkpoints are that key's), and is caught here: the deal, signed by the parties, names another.
 */
function nodes (logs: PartyLog[]): Disagreement | undefined {
  const terms = logs.find(l => l.trace.deals[0]?.terms != null)?.trace.deals[0]?.terms
  if (terms == null) return undefined
  for (const l of logs) {
    for (const view of l.trace.deals[0]?.parties ?? []) {
      const expected = view.role === 'job-creator' ? [terms.jobCreator]
        : view.role === 'resource-provider' ? [terms.resourceProvider]
          : view.role === 'solver' ? [terms.solver]
            : terms.mediators
      const node = l.report.node
      if (node !== null && expected.some(a => a.toLowerCase() === node.toLowerCase())) continue
      return {
        code: 'ERR_NODE', log: l.name, seq: 1,
        reason: node === null
          ? `its log names no node, so nothing in it is signed; the deal's ${view.role} is ${expected.join(' or ')}`
          : `its log is kept, and its checkpoints signed, by ${node}, but the deal's ${view.role} is ${expected.join(' or ')}: the log is not that party's`
      }
    }
  }
  return undefined
}

/**
 * Every log head a node signed, and a counterparty holds, is in the node's log: a log shorter than a
 * head it once signed was cut short; one whose record there hashes otherwise was rewritten.
 */
function heads (attested: readonly AttestedHead[]): Disagreement | undefined {
  for (const h of attested) {
    if (h.actual === h.hash) continue
    const where = h.holderSeq === null ? 'in answer to a head notice of the other log\'s node, kept beside that log' : `in a message or notice the other log holds (record ${h.holderSeq})`
    return {
      code: 'ERR_HEAD', log: h.log, seq: h.seq, other: { log: h.holder, seq: h.holderSeq },
      reason: h.actual === null
        ? `its log ends before record ${h.seq}, which its node signed as its head ${where}: the log was cut short`
        : `its record ${h.seq} is not the one its node signed as its head ${where}: the log was rewritten`
    }
  }
  return undefined
}

function messages (logs: PartyLog[], shared: { count: number }): Disagreement | undefined {
  const reference = new Map<string, { log: PartyLog, message: SignedMessage, logs: Set<PartyLog> }>()
  for (const l of logs) {
    for (const m of l.trace.messages) {
      if (m.id === null || m.envelope === null) continue
      const ref = reference.get(m.id)
      if (ref === undefined) {
        reference.set(m.id, { log: l, message: m, logs: new Set([l]) })
        continue
      }
      if (ref.log === l) continue
      ref.logs.add(l)
      if (sameSignedMessage(ref.message.envelope!, m.envelope)) {
        // a Deal that gathered more signatures is the one the next copies are held against
        if (m.envelope.signatures.length > ref.message.envelope!.signatures.length) {
          ref.log = l
          ref.message = m
        }
        continue
      }
      return {
        code: 'ERR_MESSAGE', log: l.name, seq: m.seq, other: { log: ref.log.name, seq: ref.message.seq },
        reason: `${m.type} ${m.id} differs: record ${m.seq} (${where(m)}) holds another copy than record ${ref.message.seq} of the other log (${where(ref.message)}); ` +
          `${whereTheyDiffer(ref.message.envelope!, m.envelope)}${validity(l, m, ref.log, ref.message)}`
      }
    }
  }
  shared.count = [...reference.values()].filter(r => r.logs.size > 1).length
  return undefined
}

function where (m: SignedMessage): string {
  return m.kept !== undefined ? `${m.how}, kept as ${m.kept}` : m.how
}

/** Where two envelopes first differ: the field, and the byte of their canonical text. */
function whereTheyDiffer (a: Envelope, b: Envelope): string {
  const x = canonicalJson(a)
  const y = canonicalJson(b)
  let i = 0
  while (i < x.length && i < y.length && x[i] === y[i]) i++
  const field = firstDifference(a, b) ?? 'length'
  return `they first differ in ${field}, at byte ${i} of the envelope's canonical text`
}

/** Which copies are validly signed: the one that is not is the one to doubt. */
function validity (l: PartyLog, m: SignedMessage, other: PartyLog, o: SignedMessage): string {
  const problems = [[l, m], [other, o]].map(([log, message]) => {
    const domain = domainOf(log as PartyLog)
    if (domain === null) return undefined
    const envelope = (message as SignedMessage).envelope!
    try {
      nodeMessages.verify(toDomain(domain), envelope, { partial: envelope.type === 'Deal' && envelope.signatures.length < 2 })
      return undefined
    } catch (err) {
      return `the copy in ${(log as PartyLog).name} does not verify (${(err as Error).message})`
    }
  }).filter(p => p !== undefined)
  return problems.length === 0 ? '' : `; ${problems.join('; ')}`
}

/** The path of the first field where two JSON values differ, or undefined when they are the same. */
export function firstDifference (a: unknown, b: unknown, path = ''): string | undefined {
  if (a === b) return undefined
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path === '' ? 'the whole value' : path
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`)
      if (d !== undefined) return d
    }
    return undefined
  }
  const x = a as Record<string, unknown>
  const y = b as Record<string, unknown>
  for (const key of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
    const d = firstDifference(x[key], y[key], path === '' ? key : `${path}.${key}`)
    if (d !== undefined) return d
  }
  return undefined
}

function kept (logs: PartyLog[]): Disagreement | undefined {
  for (const l of logs) {
    const p = l.trace.problems[0]
    if (p !== undefined) return { code: 'ERR_KEPT', log: l.name, seq: p.seq, reason: `${p.reason} (${p.code})` }
  }
  return undefined
}

interface Held { log: PartyLog, view: PartyView }

function views (logs: PartyLog[]): Held[] {
  return logs.flatMap(log => (log.trace.deals[0]?.parties ?? []).map(view => ({ log, view })))
}

/** The last record of a party's stream about the deal: where it left the deal. */
function lastOf (h: Held): number | null {
  const decisions = h.log.trace.decisions.filter(d => d.stream === h.view.stream)
  return decisions[decisions.length - 1]?.seq ?? null
}

function results (logs: PartyLog[]): Disagreement | undefined {
  const held = views(logs).filter(h => h.view.resultsCid !== null)
  const first = held[0]
  for (const h of held) {
    if (h.view.resultsCid === first!.view.resultsCid) continue
    const seqOf = (x: Held): number | null => x.log.trace.messages.find(m => m.type === 'ResultsSubmitted')?.seq ?? lastOf(x)
    return {
      code: 'ERR_RESULTS', log: h.log.name, seq: seqOf(h), other: { log: first!.log.name, seq: seqOf(first!) },
      reason: `its ${h.view.role} recorded results ${h.view.resultsCid}, the other's ${first!.view.role} ${first!.view.resultsCid}`
    }
  }
  return undefined
}

/**
 * The parties that ended the deal ended it alike; a party that ended it by a verdict took the
 * mediator's. (A mediator's verdict that came too late loses to a timeout claim: the parties may
 * then have ended the deal otherwise, and rightly. On a deal that asks for a quorum of verdicts, a
 * mediator may be outvoted: its verdict then differs from the outcome, and rightly too.)
 */
function outcomes (logs: PartyLog[]): Disagreement | undefined {
  const all = views(logs)
  const held = all.filter(h => h.view.outcome !== null)
  const first = held[0]
  for (const h of held) {
    if (h.view.outcome === first!.view.outcome) continue
    return {
      code: 'ERR_OUTCOME', log: h.log.name, seq: lastOf(h), other: { log: first!.log.name, seq: lastOf(first!) },
      reason: `its ${h.view.role} ended the deal ${h.view.outcome}, the other's ${first!.view.role} ${first!.view.outcome}`
    }
  }
  const quorum = logs.find(l => l.trace.deals[0]?.terms != null)?.trace.deals[0]?.terms?.quorum ?? 1
  if (quorum > 1) return undefined
  for (const m of all.filter(h => h.view.verdict !== undefined)) {
    const h = held.find(h => (h.view.outcome === 'MediationAccepted' || h.view.outcome === 'MediationRejected') && h.view.outcome !== m.view.verdict)
    if (h === undefined) continue
    return {
      code: 'ERR_OUTCOME', log: h.log.name, seq: lastOf(h), other: { log: m.log.name, seq: lastOf(m) },
      reason: `its ${h.view.role} ended the deal ${h.view.outcome}, but the mediator's verdict was ${m.view.verdict}`
    }
  }
  return undefined
}
