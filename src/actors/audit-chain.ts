/**
 * A node's log held against the chain that settles its deals, both ways:
 * - every deal the log holds settled, as the job creator or the provider, is settled on chain with
 *   the same outcome; one the chain settled is not left open in the log;
 * - every deal the chain paid this node for, holds its results commitment of, or shows it took the
 *   case of, is in the log. A log cut short, or rewritten without a deal, is caught there: the chain
 *   keeps what the node did.
 */
import type { DealIndex, PartyView } from './audit-deal.ts'

/** What the audit reads of the chain. */
export interface ChainView {
  dealRecord: (dealId: string) => Promise<{ state: string, outcome?: string }>
  dealEventsOf: (account: string) => Promise<Array<{ dealId: string, what: string, amount?: bigint, blockNumber: number, transactionHash: string }>>
}

export interface ChainFinding {
  dealId: string
  code: 'NOT_SETTLED_ON_CHAIN' | 'OUTCOME_DIFFERS' | 'OPEN_IN_LOG' | 'MISSING_FROM_LOG'
  reason: string
}

export interface ChainReport {
  ok: boolean
  node: string
  /** the deals of the log this node is a party to, each read on chain */
  checked: number
  /** the chain's events about this node, each looked for in the log */
  events: number
  findings: ChainFinding[]
}

/** The outcomes a settlement on chain records; the others (TimeoutMatch, TimeoutAgree) never reach it. */
const CHAIN_OUTCOMES = new Set(['Accepted', 'MediationAccepted', 'MediationRejected', 'TimeoutSubmit', 'TimeoutJudge', 'TimeoutMediate'])

/** A job creator's states of a deal whose co-signature never came in time: the deal's end is the chain's affair. */
const UNBOUND_STATES = new Set(['fell through', 'unconfirmed'])

export async function auditAgainstChain (index: DealIndex, node: string, chain: ChainView): Promise<ChainReport> {
  const me = node.toLowerCase()
  const findings: ChainFinding[] = []
  let checked = 0
  for (const dealId of index.dealIds()) {
    const summary = index.summary(dealId)
    const terms = summary.terms
    if (terms === null) continue
    const own = summary.parties.filter(p => isOwnParty(p, terms.jobCreator, terms.resourceProvider, me))
    if (own.length === 0) continue
    checked++
    const record = await chain.dealRecord(dealId)
    for (const view of own) {
      const finding = compare(dealId, view, record)
      if (finding !== undefined) findings.push(finding)
    }
  }
  const events = await chain.dealEventsOf(node)
  const reported = new Set<string>()
  for (const e of events) {
    const dealId = e.dealId.toLowerCase()
    if (index.holds(dealId) || reported.has(dealId)) continue
    reported.add(dealId)
    const paid = e.amount === undefined ? '' : ` (${e.amount} wei)`
    findings.push({ dealId, code: 'MISSING_FROM_LOG', reason: `the chain shows this node ${e.what}${paid} in deal ${dealId} (block ${e.blockNumber}, transaction ${e.transactionHash}); the log holds nothing of that deal` })
  }
  return { ok: findings.length === 0, node, checked, events: events.length, findings }
}

function isOwnParty (view: PartyView, jobCreator: string, provider: string, me: string): boolean {
  if (view.role === 'job-creator') return jobCreator.toLowerCase() === me
  if (view.role === 'resource-provider') return provider.toLowerCase() === me
  return false
}

function compare (dealId: string, view: PartyView, record: { state: string, outcome?: string }): ChainFinding | undefined {
  const who = view.role === 'job-creator' ? 'the job creator' : 'the provider'
  const settled = record.state === 'Settled'
  if (view.outcome !== null && CHAIN_OUTCOMES.has(view.outcome)) {
    if (!settled) return { dealId, code: 'NOT_SETTLED_ON_CHAIN', reason: `${who} recorded the deal settled as ${view.outcome}; the chain holds it as ${record.state}` }
    if (record.outcome !== view.outcome) return { dealId, code: 'OUTCOME_DIFFERS', reason: `${who} recorded ${view.outcome}; the chain settled ${String(record.outcome)}` }
    return undefined
  }
  // a deal the job creator took as fallen through, or watches unconfirmed, may be settled by the other party
  if (settled && view.outcome === null && !UNBOUND_STATES.has(view.state)) return { dealId, code: 'OPEN_IN_LOG', reason: `the chain settled the deal as ${String(record.outcome)}; ${who} still holds it open (${view.state})` }
  return undefined
}
