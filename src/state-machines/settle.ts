/**
 * Who is paid what when a deal ends: the outcome table of DESIGN §6 as one pure function.
 * The settlement contract computes the same payouts and is tested against this function.
 *
 * What a deal locks once agreed:
 *   job creator:       paymentCollateral (>= price + solverFee + mediatorFee) + jobCreatorTimeoutCollateral
 *   resource provider: resultsCollateral + timeoutCollateral (>= mediatorFee)
 * Every outcome pays out exactly what was locked (nothing goes to an owner):
 *   Accepted           provider: price + its collaterals; solver: solverFee;
 *                      creator: the rest of its payment collateral + its timeout collateral
 *   MediationAccepted  as Accepted, and the creator (at fault) pays the mediator's fee
 *   MediationRejected  creator: all it locked + the provider's results collateral (slashed);
 *                      mediator: fee, paid from the provider's timeout collateral; provider: the rest
 *                      (settled by the provider's equivocation, no mediator: the fee to the creator)
 *   TimeoutSubmit      creator: all it locked + the provider's timeout collateral (slashed);
 *                      provider: its results collateral
 *   TimeoutJudge       provider: price + the creator's timeout collateral (slashed) + its collaterals;
 *                      solver: solverFee; creator: the rest of its payment collateral
 *   TimeoutMediate     both get back all they locked; a mediator the deal bound (registered, for a
 *                      fee no higher than the deal's) pays, from its stake and as far as it goes, the
 *                      provider the price and the creator the results collateral, pro rata
 *
 * A deal with a quorum of k > 1 settles a challenge on the k-th of its mediators' verdicts that agree:
 * the fee is split evenly among those k (the wei the split leaves go to the job creator); each
 * mediator that voted the other way before pays the party its verdict went against the price and
 * the results collateral, from its stake and as far as it goes; on TimeoutMediate each mediator that
 * took the case and gave no verdict pays as a silent judge does.
 */
import type { Deal } from '../protocols/messages/schemas.ts'
import type { DealOutcome } from './deal-states.ts'

export type Role = 'jobCreator' | 'resourceProvider' | 'mediator' | 'solver'
export const PAYOUT_ROLES: readonly Role[] = ['jobCreator', 'resourceProvider', 'mediator', 'solver']

/**
 * The mediator is named only for the mediation outcomes: the one that signed the verdict. A deal the
 * provider's equivocation settled (two signed results for one deal, one committed and one challenged)
 * is MediationRejected without a mediator: the fee no mediator earned goes to the job creator.
 */
export type Evidence =
  | { outcome: 'Accepted' | 'TimeoutSubmit' | 'TimeoutJudge' }
  /**
   * `boundStake`: the stake of the silent judge, if the deal bound it (none: 0); `silentStakes`, on a
   * quorum deal: the stake of each mediator that took the case, gave no verdict and was bound
   */
  | { outcome: 'TimeoutMediate', boundStake?: bigint, silentStakes?: readonly bigint[] }
  /** `mediator`: the judge whose verdict settled it; null only for MediationRejected by the provider's equivocation */
  | { outcome: 'MediationAccepted' | 'MediationRejected', mediator: string | null }
  | { outcome: 'MediationAccepted' | 'MediationRejected', panel: Panel }

/** The verdicts that settled a quorum deal. */
export interface Panel {
  /** the mediators whose verdicts settled it, as many as its quorum */
  majority: readonly string[]
  /** the mediators that voted the other way before it settled, each with its stake */
  minority: ReadonlyArray<{ mediator: string, stake: bigint }>
}

export interface Transfer {
  role: Role
  to: string
  amount: bigint
}

export interface Slash {
  from: Role
  to: Role
  amount: bigint
}

export interface Settlement {
  outcome: DealOutcome
  locked: bigint
  /** by role, including zeros, in PAYOUT_ROLES order */
  payouts: Record<Role, bigint>
  /** the non-zero payouts, in PAYOUT_ROLES order */
  transfers: Transfer[]
  slashed: Slash[]
}

export class SettleError extends Error {
  override readonly name = 'SettleError'
  constructor (readonly code: 'UNKNOWN_OUTCOME' | 'MEDIATOR_NOT_IN_DEAL' | 'UNDERCOLLATERALISED', message: string) {
    super(`${code}: ${message}`)
  }
}

interface Amounts {
  price: bigint
  solverFee: bigint
  mediatorFee: bigint
  payment: bigint
  creatorTimeout: bigint
  results: bigint
  providerTimeout: bigint
}

function amountsOf (deal: Deal): Amounts {
  return {
    price: BigInt(deal.price),
    solverFee: BigInt(deal.solverFee),
    mediatorFee: BigInt(deal.mediatorFee),
    payment: BigInt(deal.paymentCollateral),
    creatorTimeout: BigInt(deal.jobCreatorTimeoutCollateral),
    results: BigInt(deal.resultsCollateral),
    providerTimeout: BigInt(deal.timeoutCollateral)
  }
}

/** Funds locked by each party once the deal is agreed. */
export function lockedBy (deal: Deal): { jobCreator: bigint, resourceProvider: bigint } {
  const a = amountsOf(deal)
  return { jobCreator: a.payment + a.creatorTimeout, resourceProvider: a.results + a.providerTimeout }
}

export function settle (deal: Deal, evidence: Evidence): Settlement {
  const a = amountsOf(deal)
  if (a.payment < a.price + a.solverFee + a.mediatorFee || a.providerTimeout < a.mediatorFee) {
    throw new SettleError('UNDERCOLLATERALISED', 'the deal\'s collaterals do not cover its price and fees')
  }
  const p: Record<Role, bigint> = { jobCreator: 0n, resourceProvider: 0n, mediator: 0n, solver: 0n }
  const slashed: Slash[] = []
  let mediator: string | undefined
  const outcome = evidence.outcome
  if ('panel' in evidence) return settlePanel(deal, a, evidence.outcome, evidence.panel)
  switch (outcome) {
    case 'Accepted':
      p.resourceProvider = a.price + a.results + a.providerTimeout
      p.solver = a.solverFee
      p.jobCreator = a.payment - a.price - a.solverFee + a.creatorTimeout
      break
    case 'MediationAccepted':
      if (evidence.mediator === null) throw new SettleError('MEDIATOR_NOT_IN_DEAL', 'MediationAccepted needs the mediator whose verdict it is')
      mediator = mediatorOf(deal, evidence.mediator)
      p.resourceProvider = a.price + a.results + a.providerTimeout
      p.solver = a.solverFee
      p.mediator = a.mediatorFee
      p.jobCreator = a.payment - a.price - a.solverFee - a.mediatorFee + a.creatorTimeout
      break
    case 'MediationRejected':
      mediator = evidence.mediator === null ? undefined : mediatorOf(deal, evidence.mediator)
      p.jobCreator = a.payment + a.creatorTimeout + a.results + (mediator === undefined ? a.mediatorFee : 0n)
      p.mediator = mediator === undefined ? 0n : a.mediatorFee
      p.resourceProvider = a.providerTimeout - a.mediatorFee
      slashed.push({ from: 'resourceProvider', to: 'jobCreator', amount: a.results })
      break
    case 'TimeoutSubmit':
      p.jobCreator = a.payment + a.creatorTimeout + a.providerTimeout
      p.resourceProvider = a.results
      slashed.push({ from: 'resourceProvider', to: 'jobCreator', amount: a.providerTimeout })
      break
    case 'TimeoutJudge':
      p.resourceProvider = a.price + a.creatorTimeout + a.results + a.providerTimeout
      p.solver = a.solverFee
      p.jobCreator = a.payment - a.price - a.solverFee
      slashed.push({ from: 'jobCreator', to: 'resourceProvider', amount: a.creatorTimeout })
      break
    case 'TimeoutMediate': {
      p.jobCreator = a.payment + a.creatorTimeout
      p.resourceProvider = a.results + a.providerTimeout
      for (const stake of evidence.silentStakes ?? [evidence.boundStake ?? 0n]) {
        const owed = silentMediatorOwes(a, stake)
        p.jobCreator += owed.jobCreator
        p.resourceProvider += owed.resourceProvider
        slashed.push({ from: 'mediator', to: 'jobCreator', amount: owed.jobCreator }, { from: 'mediator', to: 'resourceProvider', amount: owed.resourceProvider })
      }
      break
    }
    default: {
      const never: never = outcome
      throw new SettleError('UNKNOWN_OUTCOME', `unknown outcome ${String(never)}`)
    }
  }
  const to: Record<Role, string> = {
    jobCreator: deal.jobCreator,
    resourceProvider: deal.resourceProvider,
    mediator: mediator ?? '',
    solver: deal.solver
  }
  const transfers = PAYOUT_ROLES.filter(r => p[r] > 0n).map(role => ({ role, to: to[role], amount: p[role] }))
  return settlement(deal, outcome, p, transfers, slashed)
}

function settlement (deal: Deal, outcome: DealOutcome, payouts: Record<Role, bigint>, transfers: Transfer[], slashed: Slash[]): Settlement {
  const locked = lockedBy(deal)
  return { outcome, locked: locked.jobCreator + locked.resourceProvider, payouts, transfers, slashed: slashed.filter(s => s.amount > 0n) }
}

/**
 * A quorum deal settled by its mediators' verdicts: as the one judge's outcome, with the fee split
 * among the majority and the minority slashed (the contract pays the mediators in the order the deal
 * names them, the parties after).
 */
function settlePanel (deal: Deal, a: Amounts, outcome: 'MediationAccepted' | 'MediationRejected', panel: Panel): Settlement {
  if (panel.majority.length !== deal.quorum) throw new SettleError('UNKNOWN_OUTCOME', `a quorum of ${deal.quorum} settles on ${deal.quorum} verdicts, not ${panel.majority.length}`)
  const single = settle(deal, { outcome, mediator: panel.majority[0]! })
  const p = { ...single.payouts }
  const share = a.mediatorFee / BigInt(deal.quorum)
  p.jobCreator += a.mediatorFee - share * BigInt(deal.quorum)
  p.mediator = share * BigInt(deal.quorum)
  const wronged: Role = outcome === 'MediationRejected' ? 'jobCreator' : 'resourceProvider'
  // as the contract emits them: the minority's slashes while it pays the mediators, the provider's after
  const slashed: Slash[] = []
  for (const { stake } of panel.minority) {
    const owed = a.price + a.results
    const taken = owed < stake ? owed : stake
    p[wronged] += taken
    slashed.push({ from: 'mediator', to: wronged, amount: taken })
  }
  slashed.push(...single.slashed)
  const paid = share === 0n ? [] : deal.mediators.filter(m => panel.majority.some(x => x.toLowerCase() === m.toLowerCase()))
  const parties: Transfer[] = (['jobCreator', 'resourceProvider', 'solver'] as const)
    .filter(role => p[role] > 0n)
    .map(role => ({ role, to: role === 'solver' ? deal.solver : deal[role], amount: p[role] }))
  const transfers = [...paid.map(m => ({ role: 'mediator' as const, to: m, amount: share })), ...parties]
  return settlement(deal, outcome, p, transfers, slashed)
}

/**
 * What a silent mediator pays each party from its stake: what its verdict could have given that party
 * beyond a refund (the provider the price, the creator the provider's results collateral), pro rata
 * when its stake falls short. Whichever party was honest is made whole.
 */
function silentMediatorOwes (a: Amounts, stake: bigint): { jobCreator: bigint, resourceProvider: bigint } {
  const owed = a.price + a.results
  const taken = owed < stake ? owed : stake
  const jobCreator = taken === owed ? a.results : taken * a.results / owed
  return { jobCreator, resourceProvider: taken - jobCreator }
}

function mediatorOf (deal: Deal, mediator: string): string {
  const found = deal.mediators.find(m => m.toLowerCase() === mediator.toLowerCase())
  if (found === undefined) throw new SettleError('MEDIATOR_NOT_IN_DEAL', `mediator ${mediator} is not named in the deal`)
  return found
}
