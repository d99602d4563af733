/**
 * The simulated settlement chain: escrow balances and the optimistic dispute rules of DESIGN §8,
 * with payouts from the protocol's own `settle()`. Transactions are included at the next block.
 *
 * - A deal exists on chain once both parties signed it; its collaterals are locked then.
 * - `commitResults` (provider) counts only until the submit deadline, once, and not after a challenge.
 * - `challenge` counts only until the judge deadline: anyone may post the job creator's signed
 *   challenge, and the chain draws its judge from the deal's mediators. A challenge of results other than those committed
 *   comes with the provider's signed results of the CID it names; when the provider committed
 *   another CID, it signed two results for one deal, and the deal settles at once as
 *   MediationRejected without a mediator.
 * - `takeCase`: the judge drawn at the challenge takes the case, in the first half of the mediate window;
 *   only a case taken settles by a verdict, and a mediator that took the case and let the mediate
 *   deadline pass pays the parties from its deposit (its stake; every mediator here is registered).
 * - `settle` Accepted needs the creator's acceptance, of the committed CID if results were committed;
 *   a mediation outcome needs the verdict of the judge that took the case.
 * - A deal with a quorum of k > 1 draws no judge: each of its mediators may take the case and vote
 *   once, the k-th matching verdict settles it, the fee is split among those k, a mediator outvoted
 *   before pays the party it voted against, and on TimeoutMediate each that took the case and never
 *   voted pays as a silent judge does (settle() computes all of it; the stakes here are deposits).
 * - `TimeoutSubmit` fails once results were committed or challenged; `TimeoutJudge` needs a
 *   commitment and no challenge; `TimeoutMediate` needs a challenge. Each claim checks its deadline
 *   against block time, and a deal settles once.
 */
import type { Deal, ResultsChallenged, ResultsSubmitted } from '../src/protocols/messages/schemas.ts'
import { lockedBy, resultsCidHash, settle, type DealOutcome, type Settlement } from '../src/state-machines/index.ts'
import { takeDeadline } from '../src/state-machines/deal-lifecycle.ts'

export interface ChainDeal {
  dealId: string
  deal: Deal
  agreedAt: number
  committedCid: string | null
  challenged: boolean
  /** the judge drawn at the challenge (a deal with a quorum of 1) */
  judge: string | null
  caseTaken: boolean
  /** a quorum deal's mediators that took the case, lower-cased */
  takers: Set<string>
  /** a quorum deal's verdicts so far: mediator (lower-cased) → providerAtFault */
  votes: Map<string, boolean>
}

/** A challenge carries the signed messages of its evidence (the creator's challenge, the provider's results), or null for one the poster lacked. */
export type ChainTx =
  | { kind: 'commitResults', dealId: string, resultsCid: string, by: string }
  | { kind: 'challenge', dealId: string, by: string, challenge: ResultsChallenged | null, results: ResultsSubmitted | null }
  | { kind: 'settle', dealId: string, outcome: DealOutcome, by: string, mediator?: string, acceptedCid?: string }
  | { kind: 'claim', dealId: string, outcome: 'TimeoutSubmit' | 'TimeoutJudge' | 'TimeoutMediate', by: string }
  | { kind: 'takeCase', dealId: string, by: string }

/**
 * The gas of each transaction on the real contract, as `npm run bench -- gas` measured it. An
 * acceptance the provider settles goes in a batch of 100; one the job creator settles goes alone.
 * A refused transaction burns gas until it reverts (measured: a claim of a settled deal).
 */
export const GAS = {
  settleBatched: 58_014,
  settleAccepted: 110_679,
  settleMediationAccepted: 106_461,
  settleMediationRejected: 83_384,
  commitResults: 96_918,
  challenge: 73_791,
  takeCase: 44_280,
  TimeoutSubmit: 84_240,
  TimeoutJudge: 69_913,
  TimeoutMediate: 58_434,
  refused: 44_980
} as const

/** The gas a transaction cost its sender: `byProvider` tells an acceptance settled in a batch. */
export function gasOf (tx: ChainTx, ok: boolean, byProvider: boolean): number {
  if (!ok) return GAS.refused
  switch (tx.kind) {
    case 'commitResults': return GAS.commitResults
    case 'challenge': return GAS.challenge
    case 'takeCase': return GAS.takeCase
    case 'claim': return GAS[tx.outcome]
    case 'settle':
      if (tx.outcome === 'Accepted') return byProvider ? GAS.settleBatched : GAS.settleAccepted
      return tx.outcome === 'MediationAccepted' ? GAS.settleMediationAccepted : GAS.settleMediationRejected
  }
}

export type TxResult = { ok: true, settlement?: Settlement, jobOfferId?: string } | { ok: false, reason: string }

export class SimChain {
  /** deals agreed and not yet settled */
  readonly deals = new Map<string, ChainDeal>()
  /** the outcome of each deal settled: all that remains of it (a large run settles a million, and keeps each to its end) */
  readonly closed = new Map<string, DealOutcome>()
  readonly balances = new Map<string, bigint>()
  escrow = 0n
  readonly initialSupply: bigint
  readonly rejected = new Map<string, number>()
  /** every settlement paid out exactly what its deal locked */
  payoutsMatchLocks = true
  txs = 0

  constructor (readonly blockTimeMs: number, accounts: Iterable<string>, deposit: bigint) {
    let supply = 0n
    for (const a of accounts) { this.balances.set(a, deposit); supply += deposit }
    this.initialSupply = supply
  }

  /** When a transaction sent at `at` is included. */
  inclusion (at: number): number {
    return (Math.floor(at / this.blockTimeMs) + 1) * this.blockTimeMs
  }

  /** A deal signed by both parties: lock both sides' funds. Idempotent. */
  agree (dealId: string, deal: Deal, at: number): void {
    if (this.deals.has(dealId) || this.closed.has(dealId)) return
    const locked = lockedBy(deal)
    this.move(deal.jobCreator, -locked.jobCreator)
    this.move(deal.resourceProvider, -locked.resourceProvider)
    this.escrow += locked.jobCreator + locked.resourceProvider
    this.deals.set(dealId, { dealId, deal, agreedAt: at, committedCid: null, challenged: false, judge: null, caseTaken: false, takers: new Set(), votes: new Map() })
  }

  apply (tx: ChainTx, blockTime: number): TxResult {
    this.txs++
    if (this.closed.has(tx.dealId)) return this.fail('ALREADY_SETTLED')
    const d = this.deals.get(tx.dealId)
    if (d === undefined) return this.fail('UNKNOWN_DEAL')
    const deal = d.deal
    switch (tx.kind) {
      case 'commitResults':
        if (blockTime > deal.submitDeadline) return this.fail('COMMIT_LATE')
        if (d.committedCid !== null) return this.fail('ALREADY_COMMITTED')
        if (d.challenged) return this.fail('ALREADY_CHALLENGED')
        d.committedCid = tx.resultsCid
        return { ok: true }
      case 'challenge': {
        if (blockTime > deal.judgeDeadline) return this.fail('CHALLENGE_LATE')
        if (d.challenged) return this.fail('ALREADY_CHALLENGED')
        const c = tx.challenge
        if (c === null || c.dealId !== d.dealId || !sameAddress(c.author, deal.jobCreator)) return this.fail('NOT_THE_CREATORS_CHALLENGE')
        if (deal.mediators.length === 0) return this.fail('NO_MEDIATORS')
        if (c.resultsCid !== d.committedCid) {
          const r = tx.results
          if (r === null || r.dealId !== d.dealId || r.resultsCid !== c.resultsCid || !sameAddress(r.author, deal.resourceProvider)) return this.fail('RESULTS_MISMATCH')
          if (d.committedCid !== null) return this.close(d, { outcome: 'MediationRejected', mediator: null })
        }
        d.challenged = true
        if (deal.quorum <= 1) d.judge = drawnJudge(d.dealId, deal.mediators, blockTime / this.blockTimeMs)
        return { ok: true }
      }
      case 'takeCase':
        if (!d.challenged) return this.fail('NOT_CHALLENGED')
        if (blockTime > takeDeadline(deal)) return this.fail('TAKE_LATE')
        if (deal.quorum > 1) {
          if (!deal.mediators.some(m => sameAddress(m, tx.by))) return this.fail('NOT_THE_MEDIATOR')
          d.takers.add(tx.by.toLowerCase())
          return { ok: true }
        }
        if (!sameAddress(tx.by, d.judge as string)) return this.fail('NOT_THE_MEDIATOR')
        d.caseTaken = true
        return { ok: true }
      case 'settle':
        if (tx.outcome === 'Accepted') {
          if (d.challenged) return this.fail('CHALLENGED')
          if (d.committedCid !== null && tx.acceptedCid !== d.committedCid) return this.fail('RESULTS_MISMATCH')
          return this.close(d, { outcome: 'Accepted' })
        }
        if ((tx.outcome === 'MediationAccepted' || tx.outcome === 'MediationRejected') && deal.quorum > 1) return this.vote(d, tx.outcome, tx.mediator, blockTime)
        if (tx.outcome === 'MediationAccepted' || tx.outcome === 'MediationRejected') {
          const mediator = tx.mediator ?? d.judge
          if (mediator == null) return this.fail('NO_VERDICT')
          if (!d.caseTaken) return this.fail('CASE_NOT_TAKEN')
          if (!sameAddress(mediator, d.judge as string)) return this.fail('WRONG_SIGNER')
          return this.close(d, { outcome: tx.outcome, mediator })
        }
        return this.fail('NOT_SETTLEABLE')
      case 'claim':
        switch (tx.outcome) {
          case 'TimeoutSubmit':
            if (blockTime <= deal.submitDeadline) return this.fail('TOO_EARLY')
            if (d.committedCid !== null || d.challenged) return this.fail('RESULTS_COMMITTED')
            break
          case 'TimeoutJudge':
            if (blockTime <= deal.judgeDeadline) return this.fail('TOO_EARLY')
            if (d.committedCid === null) return this.fail('NOT_COMMITTED')
            if (d.challenged) return this.fail('CHALLENGED')
            break
          case 'TimeoutMediate': {
            if (blockTime <= deal.mediateDeadline) return this.fail('TOO_EARLY')
            if (!d.challenged) return this.fail('NOT_CHALLENGED')
            const silent = deal.quorum > 1 ? deal.mediators.filter(m => d.takers.has(m.toLowerCase()) && !d.votes.has(m.toLowerCase())) : d.caseTaken ? [d.judge as string] : []
            return this.close(d, { outcome: tx.outcome, silentStakes: silent.map(m => this.stakeOf(m)) }, silent)
          }
        }
        return this.close(d, { outcome: tx.outcome })
    }
  }

  /** What the contract's `dealRecord` would say of a deal: its state, its outcome once settled, the hash of the committed CID. */
  record (dealId: string): { state: string, outcome?: string, mediator?: string, caseTaken?: boolean, resultsCidHash?: string } {
    const outcome = this.closed.get(dealId)
    if (outcome !== undefined) return { state: 'Settled', outcome }
    const d = this.deals.get(dealId)
    if (d?.challenged === true) return { state: 'Mediating', ...(d.judge === null ? {} : { mediator: d.judge }), caseTaken: d.caseTaken }
    if (d?.committedCid != null) return { state: 'ResultsSubmitted', resultsCidHash: resultsCidHash(d.committedCid) }
    return { state: 'JobOffered' }
  }

  /** Deals agreed on chain and never settled. */
  unsettled (): ChainDeal[] {
    return [...this.deals.values()]
  }

  /** Balances plus escrow equal the initial supply, and escrow holds exactly what open deals lock. */
  fundsConserved (): boolean {
    let total = this.escrow
    for (const b of this.balances.values()) total += b
    let open = 0n
    for (const d of this.unsettled()) {
      const l = lockedBy(d.deal)
      open += l.jobCreator + l.resourceProvider
    }
    return this.payoutsMatchLocks && total === this.initialSupply && open === this.escrow
  }

  /**
   * A quorum deal's verdict from one of its mediators, counted once; the quorum-th that agrees settles
   * the deal, and the mediators that voted the other way pay from their stakes.
   */
  private vote (d: ChainDeal, outcome: 'MediationAccepted' | 'MediationRejected', mediator: string | undefined, at: number): TxResult {
    if (mediator === undefined || !d.deal.mediators.some(m => sameAddress(m, mediator))) return this.fail('NOT_THE_MEDIATOR')
    if (!d.challenged) return this.fail('NOT_CHALLENGED')
    if (at > d.deal.mediateDeadline) return this.fail('VERDICT_LATE')
    const key = mediator.toLowerCase()
    if (d.votes.has(key)) return this.fail('ALREADY_VOTED')
    const fault = outcome === 'MediationRejected'
    d.votes.set(key, fault)
    const voters = (side: boolean): string[] => d.deal.mediators.filter(m => d.votes.get(m.toLowerCase()) === side)
    const majority = voters(fault)
    if (majority.length < d.deal.quorum) return { ok: true }
    const minority = voters(!fault)
    return this.close(d, { outcome, panel: { majority, minority: minority.map(m => ({ mediator: m, stake: this.stakeOf(m) })) } }, minority)
  }

  /** A mediator's stake: its deposit (every mediator here is registered). */
  private stakeOf (mediator: string): bigint {
    return this.balances.get(mediator) ?? 0n
  }

  /**
   * `charged`: the mediators whose stakes the settlement's slashes from 'mediator' come from, each
   * paying what it owes (the price and the results collateral) as far as its stake goes.
   */
  private close (d: ChainDeal, evidence: Parameters<typeof settle>[1], charged: readonly string[] = []): TxResult {
    const s = settle(d.deal, evidence)
    const owed = BigInt(d.deal.price) + BigInt(d.deal.resultsCollateral)
    let fromStake = 0n
    for (const m of charged) {
      const stake = this.stakeOf(m)
      const taken = stake < owed ? stake : owed
      this.move(m, -taken)
      fromStake += taken
    }
    let paid = 0n
    for (const t of s.transfers) { this.move(t.to, t.amount); paid += t.amount }
    if (paid !== s.locked + fromStake) this.payoutsMatchLocks = false
    this.escrow -= s.locked
    this.deals.delete(d.dealId)
    this.closed.set(d.dealId, s.outcome)
    return { ok: true, settlement: s, jobOfferId: d.deal.jobOfferId }
  }

  private move (account: string, amount: bigint): void {
    this.balances.set(account, (this.balances.get(account) ?? 0n) + amount)
  }

  private fail (reason: string): TxResult {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1)
    return { ok: false, reason }
  }
}

function sameAddress (a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

/**
 * The contract's draw of a judge from a deal's mediators, by the block the challenge landed in: as on
 * chain, neither party knows it when it challenges (the contract hashes a block hash; a hash of the
 * deal id and the block number stands in for it here).
 */
function drawnJudge (dealId: string, mediators: readonly string[], block: number): string {
  return mediators[(Number.parseInt(dealId.slice(-8), 16) + block) % mediators.length] as string
}
