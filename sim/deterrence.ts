/**
 * The check rate a job creator should use by default, and what cheating earns around it, from the
 * closed form of economics.ts: nothing is simulated.
 *
 * p* is the smallest check rate at which a cheater earns less than honest work. The default check
 * rate is p* rounded up to a whole percent, plus one point, so that cheating strictly does not pay
 * at the default whatever the rounding, and a little gas or a little less collateral does not tip it.
 */
import { defaultEconomics, resultsCollateral, type Economics } from './config.ts'
import { settleGas, thresholds } from './economics.ts'

/**
 * The node's defaults, in wei: DEFAULTS in src/node/settings.ts, which sim/ may not import (DESIGN
 * §3). A test holds these figures to that file.
 */
export const NODE_DEFAULTS = {
  price: 1_000_000_000_000_000n,
  resultsCollateral: 2_000_000_000_000_000n,
  timeoutCollateral: 1_000_000_000_000_000n,
  solverFee: 10_000_000_000_000n,
  mediatorFee: 100_000_000_000_000n
} as const

/** percentage points added to p*, rounded up to a whole percent, to make the default check rate */
export const SAFETY_MARGIN_POINTS = 1

/**
 * The node's defaults as economics. The network does not know what a job costs its provider to
 * run: the worst case is a cost equal to the whole price, the most a rational provider saves by
 * making results up. Gas is paid in the chain's own coin, not in the token the price is in: none is
 * counted here, and the table says how much the default tolerates.
 */
export function nodeEconomics (): Economics {
  const d = NODE_DEFAULTS
  const e: Economics = {
    ...defaultEconomics(),
    price: d.price,
    computeCost: d.price,
    solverFee: d.solverFee,
    mediatorFee: d.mediatorFee,
    collateralMultiple: Number(d.resultsCollateral) / Number(d.price),
    providerTimeoutCollateral: d.timeoutCollateral,
    creatorTimeoutCollateral: d.timeoutCollateral,
    gasPrice: 0
  }
  if (resultsCollateral(e) !== d.resultsCollateral) throw new Error(`results collateral ${d.resultsCollateral} is no multiple of the price sim/config.ts can state`)
  return e
}

export interface DeterrenceRow {
  /** the check rate, a whole percent */
  percent: number
  /** where the row stands against p* */
  label: string
  /** expected profit per deal, in wei, exact (a whole percent of a wei amount has at most two decimals) */
  cheater: string
  honest: string
  /** cheater less honest */
  difference: string
  /** the cheater earns more than honest work */
  cheatingPays: boolean
}

export interface Deterrence {
  label: string
  economics: Economics
  resultsCollateral: bigint
  /** the gas of settling an accepted deal in a batch, in wei */
  settleGas: bigint
  /** p*, a share */
  pStar: number
  /** p* rounded up to a whole percent */
  pStarCeilPercent: number
  /** the default check rate, a whole percent */
  defaultPercent: number
  /** cheating still does not pay at the default while the gas of settling is under this share of the price */
  gasToleranceShare: number
  rows: DeterrenceRow[]
  /** a cheater whose partner is one of the deal's mediators */
  collusion: CollusionRow[]
}

/**
 * A provider colluding with one of its deal's `mediators`. With one judge (quorum 1) the chain draws
 * it, so a check catches the made-up results only when it draws an honest one, (n - 1) / n of the
 * time, and the check rate that deters the pair is p* n / (n - 1). With a quorum of k > 1 verdicts
 * and k <= n - 1 honest mediators, the honest ones settle every check without the colluder: the
 * rate that deters the pair is p* itself.
 */
export interface CollusionRow {
  mediators: number
  /** the matching verdicts a challenge needs */
  quorum: number
  /** the smallest whole check rate at which the pair's cheating earns less than honest work; null: none under 100% */
  deterringPercent: number | null
  /** cheater less honest per deal at the default check rate, in wei, rounded toward zero */
  differenceAtDefault: string
  cheatingPays: boolean
}

/** The deals the collusion rows are given for: one judge drawn from the devnet's two mediators or from three, and 2 of 3 verdicts. */
export const COLLUSION_PANELS = [{ mediators: 2, quorum: 1 }, { mediators: 3, quorum: 1 }, { mediators: 3, quorum: 2 }] as const

/** The share of a colluding pair's cheats a check catches, as [numerator, denominator]. */
export function caughtShare (mediators: number, quorum: number): [number, number] {
  if (quorum <= 1) return [mediators - 1, mediators]
  // k honest verdicts settle without the colluder; fewer honest mediators than k never settle a check
  return mediators - 1 >= quorum ? [1, 1] : [0, 1]
}

/** Per deal at a check rate of `percent`, times 100 (so that every figure is a whole number of wei). */
function perDealTimes100 (e: Economics, percent: number): { cheater: bigint, honest: bigint } {
  const p = BigInt(percent)
  const paid = e.price - BigInt(settleGas(e))
  const forfeited = resultsCollateral(e) + e.mediatorFee
  return {
    cheater: (100n - p) * paid - p * forfeited,
    honest: 100n * (paid - e.computeCost)
  }
}

/** What a cheater loses when checked, with the pay it forgoes: p* = cost / lost. */
function lost (e: Economics): bigint {
  const l = e.price - BigInt(settleGas(e)) + resultsCollateral(e) + e.mediatorFee
  if (l <= 0n) throw new RangeError('a checked cheater loses nothing: no check rate deters it')
  return l
}

/** Cheater less honest per deal, times 100 den, when checks catch num / den of the cheats. */
function collusionDifferenceTimes100 (e: Economics, percent: number, [num, den]: [number, number]): bigint {
  const caught = BigInt(percent * num)
  const paid = e.price - BigInt(settleGas(e))
  const cheater = (BigInt(100 * den) - caught) * paid - caught * (resultsCollateral(e) + e.mediatorFee)
  return cheater - BigInt(100 * den) * (paid - e.computeCost)
}

function collusion (e: Economics, defaultPercent: number): CollusionRow[] {
  return COLLUSION_PANELS.map(({ mediators, quorum }) => {
    const [num, den] = caughtShare(mediators, quorum)
    // the pair's cheating stops paying where 100 den cost < p num lost
    const l = lost(e) * BigInt(num)
    const deterring = l === 0n ? Infinity : Number((BigInt(100 * den) * e.computeCost) / l) + 1
    const difference = collusionDifferenceTimes100(e, defaultPercent, [num, den])
    return {
      mediators,
      quorum,
      deterringPercent: deterring > 100 ? null : deterring,
      differenceAtDefault: (difference / BigInt(100 * den)).toString(),
      cheatingPays: difference > 0n
    }
  })
}

/** p* rounded up to a whole percent, in exact arithmetic. */
export function pStarCeilPercent (e: Economics): number {
  const l = lost(e)
  return Number((100n * e.computeCost + l - 1n) / l)
}

/** The check rate a job creator should use with these economics: a whole percent, at most 100. */
export function checkRatePercent (e: Economics): number {
  return Math.min(100, pStarCeilPercent(e) + SAFETY_MARGIN_POINTS)
}

/** The default check rate for the node's defaults and the worst-case compute cost, a whole percent. */
export function defaultCheckRatePercent (): number {
  return checkRatePercent(nodeEconomics())
}

export function deterrence (label: string, e: Economics): Deterrence {
  const ceil = pStarCeilPercent(e)
  const chosen = checkRatePercent(e)
  const candidates: Array<[number, string]> = [
    [0, 'no checks'],
    [ceil - 10, 'ceil(p*) - 10'],
    [ceil - 5, 'ceil(p*) - 5'],
    [ceil - 2, 'ceil(p*) - 2'],
    [ceil, 'ceil(p*)'],
    [chosen, 'default'],
    [ceil + 5, 'ceil(p*) + 5'],
    [ceil + 10, 'ceil(p*) + 10']
  ]
  const labels = new Map<number, string[]>()
  for (const [percent, name] of candidates) {
    const at = Math.max(0, Math.min(100, percent))
    const names = labels.get(at) ?? []
    if (!names.includes(name)) names.push(name)
    labels.set(at, names)
  }
  const rows = [...labels.entries()].sort(([a], [b]) => a - b).map(([percent, names]) => {
    const { cheater, honest } = perDealTimes100(e, percent)
    return {
      percent,
      label: names.join(', '),
      cheater: hundredths(cheater),
      honest: hundredths(honest),
      difference: hundredths(cheater - honest),
      cheatingPays: cheater > honest
    }
  })
  // 100 cost < D (price - g + R + fee) holds while g < price + R + fee - 100 cost / D
  const withoutGas = e.price + resultsCollateral(e) + e.mediatorFee
  const gasTolerance = Number(BigInt(chosen) * withoutGas - 100n * e.computeCost) / chosen
  return {
    label,
    economics: e,
    resultsCollateral: resultsCollateral(e),
    settleGas: BigInt(settleGas(e)),
    pStar: thresholds(e).pStar,
    pStarCeilPercent: ceil,
    defaultPercent: chosen,
    gasToleranceShare: gasTolerance / Number(e.price),
    rows,
    collusion: collusion(e, chosen)
  }
}

export interface DeterrenceReport {
  /** the default check rate: the node's defaults, worst-case compute cost */
  defaultCheckRatePercent: number
  node: Deterrence
  sim: Deterrence
}

export function deterrenceReport (): DeterrenceReport {
  const node = deterrence('node defaults (src/node/settings.ts), compute cost = price', nodeEconomics())
  return {
    defaultCheckRatePercent: node.defaultPercent,
    node,
    sim: deterrence('simulator economics (sim/config.ts)', defaultEconomics())
  }
}

export function formatDeterrence (r: DeterrenceReport): string {
  const n = r.node
  const lines = [
    `default check rate ${r.defaultCheckRatePercent}%: p* ${pct(n.pStar)} for the node's defaults at the worst-case compute cost, rounded up to ${n.pStarCeilPercent}%, plus ${SAFETY_MARGIN_POINTS} point`,
    'p* = compute cost / (price - gas of settling + results collateral + mediator fee): the check rate above which cheating earns less than honest work'
  ]
  for (const d of [r.node, r.sim]) {
    const e = d.economics
    const row = (k: string, v: string, note = ''): void => { lines.push(`  ${k.padEnd(20)} ${v.padStart(20)}${note === '' ? '' : `  ${note}`}`) }
    lines.push('', `${d.label}, in wei`)
    row('price', e.price.toString())
    row('results collateral', d.resultsCollateral.toString(), `k ${e.collateralMultiple}: lost when a check finds made-up results`)
    row('timeout collateral', e.providerTimeoutCollateral.toString(), 'not at stake: a cheater answers in time')
    row('mediator fee', e.mediatorFee.toString(), 'paid by a cheater that is checked')
    row('compute cost', e.computeCost.toString(), e === r.node.economics
      ? 'unknown to the network; worst case: the whole price, the most a provider saves by cheating'
      : 'what the simulator charges for a run')
    row('gas of settling', d.settleGas.toString(), e.gasPrice === 0
      ? 'paid in the chain\'s coin, not in the token'
      : `${e.gasPrice} a unit of gas, for a provider's share of a batched settlement`)
    row('p*', pct(d.pStar))
    row('check rate', `${d.defaultPercent}%`, `cheating does not pay there while the gas of settling is under ${floorPct(d.gasToleranceShare)} of the price`)
    lines.push('')
    lines.push(`  ${'check rate'.padStart(10)} ${'cheater/deal'.padStart(20)} ${'honest/deal'.padStart(20)} ${'cheater - honest'.padStart(20)} ${'cheating pays'.padStart(13)}  row`)
    for (const x of d.rows) {
      lines.push(`  ${`${x.percent}%`.padStart(10)} ${x.cheater.padStart(20)} ${x.honest.padStart(20)} ${signed(x.difference).padStart(20)} ${(x.cheatingPays ? 'yes' : 'no').padStart(13)}  ${x.label}`)
    }
    lines.push('', '  a provider colluding with one of its deal\'s n mediators: with one judge the chain draws it, so checks catch (n - 1) / n of its cheats;')
    lines.push('  with a quorum of k verdicts, the k honest mediators settle every check without it')
    lines.push(`  ${'mediators'.padStart(10)} ${'quorum'.padStart(7)} ${'rate that deters'.padStart(20)} ${`cheater - honest at ${d.defaultPercent}%`.padStart(28)} ${'cheating pays'.padStart(13)}`)
    for (const x of d.collusion) {
      lines.push(`  ${String(x.mediators).padStart(10)} ${String(x.quorum).padStart(7)} ${(x.deterringPercent === null ? 'none under 100%' : `${x.deterringPercent}%`).padStart(20)} ${signed(x.differenceAtDefault).padStart(28)} ${(x.cheatingPays ? 'yes' : 'no').padStart(13)}`)
    }
  }
  return lines.join('\n') + '\n'
}

/** The report as one line of JSON: amounts in wei as decimal strings. */
export function deterrenceJson (r: DeterrenceReport): string {
  const side = (d: Deterrence): Record<string, unknown> => ({
    price: d.economics.price.toString(),
    resultsCollateral: d.resultsCollateral.toString(),
    timeoutCollateral: d.economics.providerTimeoutCollateral.toString(),
    mediatorFee: d.economics.mediatorFee.toString(),
    computeCost: d.economics.computeCost.toString(),
    settleGas: d.settleGas.toString(),
    pStar: d.pStar,
    pStarCeilPercent: d.pStarCeilPercent,
    checkRatePercent: d.defaultPercent,
    gasToleranceShare: d.gasToleranceShare,
    rows: d.rows,
    collusion: d.collusion
  })
  return JSON.stringify({ defaultCheckRatePercent: r.defaultCheckRatePercent, node: side(r.node), sim: side(r.sim) }) + '\n'
}

/** n / 100 as an exact decimal. */
function hundredths (n: bigint): string {
  const abs = n < 0n ? -n : n
  const whole = `${n < 0n ? '-' : ''}${abs / 100n}`
  const cents = abs % 100n
  if (cents === 0n) return whole
  return `${whole}.${cents.toString().padStart(2, '0').replace(/0$/, '')}`
}

function signed (x: string): string {
  return x.startsWith('-') || x === '0' ? x : `+${x}`
}

function pct (x: number): string {
  return `${(x * 100).toFixed(3)}%`
}

/** a share as a percent with one decimal, rounded down: the tolerance it states still holds */
function floorPct (x: number): string {
  return `${(Math.floor(x * 1000) / 10).toFixed(1)}%`
}
