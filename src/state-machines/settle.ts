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
  /** `boundStake`: the stake of the silent mediator, if the deal bound it (none: 0) */
  | { outcome: 'TimeoutMediate', boundStake?: bigint }
  | { outcome: 'MediationAccepted', mediator: string }
  | { outcome: 'MediationRejected', mediator: string | null }

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
  switch (outcome) {
    case 'Accepted':
      p.resourceProvider = a.price + a.results + a.providerTimeout
      p.solver = a.solverFee
      p.jobCreator = a.payment - a.price - a.solverFee + a.creatorTimeout
      break
    case 'MediationAccepted':
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
      const owed = silentMediatorOwes(a, evidence.boundStake ?? 0n)
      p.jobCreator = a.payment + a.creatorTimeout + owed.jobCreator
      p.resourceProvider = a.results + a.providerTimeout + owed.resourceProvider
      slashed.push({ from: 'mediator', to: 'jobCreator', amount: owed.jobCreator }, { from: 'mediator', to: 'resourceProvider', amount: owed.resourceProvider })
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
  const locked = lockedBy(deal)
  return {
    outcome,
    locked: locked.jobCreator + locked.resourceProvider,
    payouts: p,
    transfers,
    slashed: slashed.filter(s => s.amount > 0n)
  }
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
