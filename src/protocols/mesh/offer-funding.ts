/**
 * Whether an offer's author holds in escrow the collateral a deal from the offer would lock. An
 * offer whose author cannot pay for its own deal can only waste a solver's rounds and the other
 * party's time, and offers from fresh keys cost nothing to sign: the escrow is what makes each key
 * cost its author. Balances are read through `balanceOf` (the settlement contract) and kept a
 * while, so a burst of offers from one author costs one read.
 */
import type { JobOffer, ResourceOffer, Verified } from '../messages/index.ts'

export interface OfferFunding {
  /** whether the offer's author holds what it offers to lock; undefined for types not checked */
  covers: (verified: Verified) => Promise<boolean>
}

export interface FundingCacheOptions {
  balanceOf: (address: string) => Promise<bigint>
  now?: () => number
  /** how long a balance read is trusted (default 30 s) */
  ttlMs?: number
  /** authors remembered at once (default 10,000) */
  maxEntries?: number
  /** called when a read fails: the offer is taken then, as it was before the check existed */
  onError?: (err: unknown) => void
}

/** What a deal from this offer locks of its author's escrow; undefined when nothing is checked. */
export function collateralOf (verified: Verified): bigint | undefined {
  switch (verified.type) {
    case 'ResourceOffer': {
      const o = verified.message as ResourceOffer
      return BigInt(o.resultsCollateral) + BigInt(o.timeoutCollateral)
    }
    case 'JobOffer': {
      const o = verified.message as JobOffer
      return BigInt(o.paymentCollateral) + BigInt(o.timeoutCollateral)
    }
    default:
      return undefined
  }
}

export class FundingCache implements OfferFunding {
  private readonly balances = new Map<string, { balance: Promise<bigint | undefined>, at: number }>()
  private readonly now: () => number
  private readonly ttlMs: number
  private readonly maxEntries: number

  constructor (private readonly options: FundingCacheOptions) {
    this.now = options.now ?? Date.now
    this.ttlMs = options.ttlMs ?? 30_000
    this.maxEntries = options.maxEntries ?? 10_000
  }

  async covers (verified: Verified): Promise<boolean> {
    const needed = collateralOf(verified)
    if (needed === undefined) return true
    const balance = await this.balance((verified.message as { author: string }).author)
    return balance === undefined || balance >= needed
  }

  private balance (author: string): Promise<bigint | undefined> {
    const key = author.toLowerCase()
    const at = this.now()
    const held = this.balances.get(key)
    if (held !== undefined && at - held.at < this.ttlMs) return held.balance
    const balance = this.options.balanceOf(author).catch((err: unknown) => {
      this.options.onError?.(err)
      this.balances.delete(key)
      return undefined
    })
    this.balances.delete(key)
    this.balances.set(key, { balance, at })
    if (this.balances.size > this.maxEntries) this.balances.delete(this.balances.keys().next().value as string)
    return balance
  }
}
