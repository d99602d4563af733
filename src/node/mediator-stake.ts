/**
 * A mediator's stake at start: its deposit topped up to the stake asked for, and its registration for
 * its fee, so that every deal paying at least that fee binds it (slashed, from the stake, for a case it
 * took and let time out). Nothing is sent when the chain already shows both.
 */
import type { MediatorTerms, SettlementReceipt } from '../settlement/index.ts'

export interface StakingChain {
  readonly address: string
  mediatorOf: () => Promise<MediatorTerms>
  deposit: (amount: bigint) => Promise<SettlementReceipt>
  registerMediator: (fee: bigint) => Promise<SettlementReceipt>
}

export class StakeError extends Error {
  override readonly name = 'StakeError'
  readonly code = 'ERR_STAKE'
}

export interface Staked {
  deposited: bigint
  /** the registration was sent now (none was on chain, or for another fee) */
  registeredNow: boolean
  stake: bigint
  fee: bigint
}

export async function ensureMediatorStake (chain: StakingChain, stake: bigint, fee: bigint): Promise<Staked> {
  try {
    // a deposit asked to leave is no stake: what is short of the stake is deposited
    const terms = await chain.mediatorOf()
    const deposited = terms.stake < stake ? stake - terms.stake : 0n
    if (deposited > 0n) await chain.deposit(deposited)
    const registeredNow = !terms.registered || terms.fee !== fee
    if (registeredNow) await chain.registerMediator(fee)
    const now = await chain.mediatorOf()
    return { deposited, registeredNow, stake: now.stake, fee: now.fee }
  } catch (err) {
    throw new StakeError(`could not stake ${stake} wei as mediator ${chain.address}: ${(err as Error).message}`, { cause: err })
  }
}
