/**
 * What cheating is worth, in closed form, for one deal (DESIGN §6 payouts):
 * - an honest provider earns price - cost, less the gas g of its share of a batched settlement;
 * - a cheater skips the cost; unchecked (1 - p) it is paid the price less g, checked (p) it loses
 *   its results collateral k * price and pays the mediator's fee, and is paid nothing.
 * Cheating stops paying when p * (price - g + k * price + fee) > cost: the threshold p*.
 * MODiCuM states the condition as check rate times penalty exceeding what cheating saves,
 * p * k * price > cost, which ignores the forfeited price and the fee, and so asks for a higher p.
 */
import { GAS } from './chain.ts'
import { resultsCollateral, type Economics } from './config.ts'

export interface Thresholds {
  k: number
  /** above it, cheating earns less than honest work */
  pStar: number
  /** MODiCuM's condition p * penalty > savings, with the results collateral as the penalty */
  pModicum: number
  /** above it, a cheater loses money outright */
  pBreakEven: number
}

const n = (x: bigint): number => Number(x)

/** What settling an accepted deal in a batch costs the provider in gas. */
export function settleGas (e: Economics): number {
  return Math.round(GAS.settleBatched * e.gasPrice)
}

/** What an accepted deal pays the provider, net of the gas to settle it. */
function paid (e: Economics): number {
  return n(e.price) - settleGas(e)
}

export function cheaterProfitPerDeal (e: Economics, p: number): number {
  return (1 - p) * paid(e) - p * (n(resultsCollateral(e)) + n(e.mediatorFee))
}

export function honestProfitPerDeal (e: Economics): number {
  return paid(e) - n(e.computeCost)
}

export function thresholds (e: Economics): Thresholds {
  const lost = paid(e) + n(resultsCollateral(e)) + n(e.mediatorFee)
  return {
    k: e.collateralMultiple,
    pStar: n(e.computeCost) / lost,
    pModicum: e.collateralMultiple === 0 ? Infinity : n(e.computeCost) / n(resultsCollateral(e)),
    pBreakEven: paid(e) / lost
  }
}
