/**
 * The sweep: cheating providers' profit per deal against the check rate p, for several collateral
 * multiples k, measured by running the machines and set beside the closed form and MODiCuM's condition.
 */
import { defaultEconomics, type Economics } from './config.ts'
import { cheaterProfitPerDeal, honestProfitPerDeal, thresholds, type Thresholds } from './economics.ts'
import { simulate } from './run.ts'
import { buildScenario, type ScenarioOptions } from './scenarios.ts'

export const SWEEP_KS = [0.5, 1, 2, 4] as const
export const SWEEP_PS = [0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5] as const

export interface SweepPoint {
  k: number
  p: number
  /** measured profit per deal of the cheating providers, in units of the price */
  cheater: number
  /** measured profit per deal of the honest providers, in units of the price */
  honest: number
  cheaterDeals: number
  /** the closed form, in units of the price */
  expected: number
}

export interface SweepResult {
  economics: Economics
  points: SweepPoint[]
  thresholds: Thresholds[]
  honestExpected: number
}

/** `onPoint` hears of each point as it is measured (a sweep runs one simulation per point). */
export function sweep (
  o: ScenarioOptions, ks: readonly number[] = SWEEP_KS, ps: readonly number[] = SWEEP_PS,
  onPoint?: (done: number, total: number, point: SweepPoint) => void
): SweepResult {
  const points: SweepPoint[] = []
  const price = Number(defaultEconomics().price)
  for (const k of ks) {
    for (const p of ps) {
      const config = buildScenario('cheating', { ...o, p, k, q: o.q ?? 0.3 })
      const { summary } = simulate(config)
      const row = (label: string) => summary.profits.find(r => r.label === label)
      const cheat = row('resource-provider (cheating)')
      const honest = row('resource-provider')
      points.push({
        k,
        p,
        cheater: cheat === undefined || cheat.deals === 0 ? NaN : Number(cheat.total) / cheat.deals / price,
        honest: honest === undefined || honest.deals === 0 ? NaN : Number(honest.total) / honest.deals / price,
        cheaterDeals: cheat?.deals ?? 0,
        expected: cheaterProfitPerDeal(config.economics, p) / price
      })
      onPoint?.(points.length, ks.length * ps.length, points[points.length - 1] as SweepPoint)
    }
  }
  const e = defaultEconomics()
  return {
    economics: e,
    points,
    thresholds: ks.map(k => thresholds({ ...e, collateralMultiple: k })),
    honestExpected: honestProfitPerDeal(e) / price
  }
}

export function formatSweep (r: SweepResult): string {
  const lines = [`cheating provider's profit per deal (x price) against the check rate p; honest work earns ${r.honestExpected.toFixed(3)}`]
  lines.push(`  ${'k'.padStart(4)} ${'p'.padStart(5)} ${'measured'.padStart(9)} ${'expected'.padStart(9)} ${'deals'.padStart(6)}`)
  for (const pt of r.points) {
    lines.push(`  ${String(pt.k).padStart(4)} ${pt.p.toFixed(2).padStart(5)} ${fmt(pt.cheater).padStart(9)} ${fmt(pt.expected).padStart(9)} ${String(pt.cheaterDeals).padStart(6)}`)
  }
  lines.push('  thresholds: cheating stops paying above p* = cost / (price (1 + k) + fee); MODiCuM: p > cost / (k price)')
  for (const t of r.thresholds) {
    lines.push(`  k ${String(t.k).padStart(4)}: p* ${t.pStar.toFixed(3)}  MODiCuM ${fmt(t.pModicum)}  cheater loses money above ${t.pBreakEven.toFixed(3)}`)
  }
  return lines.join('\n') + '\n'
}

function fmt (x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : '-'
}

const COLOURS = ['#1b9e77', '#d95f02', '#7570b3', '#e7298a', '#66a61e', '#e6ab02']

/** A self-contained SVG line chart: closed-form curves, measured points, the honest line, thresholds. */
export function renderSweepSvg (r: SweepResult): string {
  const W = 820; const H = 480
  const m = { left: 70, right: 230, top: 40, bottom: 60 }
  const pMax = Math.max(...r.points.map(pt => pt.p), 0.1)
  const ys = [...r.points.flatMap(pt => [pt.expected, pt.cheater]).filter(Number.isFinite), r.honestExpected, 1]
  const yMin = Math.floor(Math.min(...ys) * 2) / 2
  const yMax = Math.ceil(Math.max(...ys) * 2) / 2
  const x = (p: number): number => m.left + (p / pMax) * (W - m.left - m.right)
  const y = (v: number): number => m.top + (yMax - v) / (yMax - yMin) * (H - m.top - m.bottom)
  const f = (v: number): string => v.toFixed(1)
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`)
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`)
  out.push(`<text x="${W / 2 - 60}" y="22" text-anchor="middle" font-size="15">Cheating provider's profit per deal vs check rate p</text>`)
  for (let i = 0; i <= 5; i++) {
    const p = pMax * i / 5
    out.push(`<line x1="${f(x(p))}" y1="${f(y(yMin))}" x2="${f(x(p))}" y2="${f(y(yMax))}" stroke="#eee"/>`)
    out.push(`<text x="${f(x(p))}" y="${f(y(yMin) + 18)}" text-anchor="middle">${p.toFixed(2)}</text>`)
  }
  for (let v = yMin; v <= yMax + 1e-9; v += 0.5) {
    out.push(`<line x1="${m.left}" y1="${f(y(v))}" x2="${f(x(pMax))}" y2="${f(y(v))}" stroke="${v === 0 ? '#999' : '#eee'}"/>`)
    out.push(`<text x="${m.left - 8}" y="${f(y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`)
  }
  out.push(`<text x="${f((m.left + x(pMax)) / 2)}" y="${H - 15}" text-anchor="middle">check rate p</text>`)
  out.push(`<text transform="translate(18 ${f(H / 2)}) rotate(-90)" text-anchor="middle">profit per deal (x price)</text>`)
  out.push(`<line x1="${m.left}" y1="${f(y(r.honestExpected))}" x2="${f(x(pMax))}" y2="${f(y(r.honestExpected))}" stroke="black" stroke-dasharray="6 4"/>`)
  out.push(`<text x="${m.left + 6}" y="${f(y(r.honestExpected) - 6)}">honest work</text>`)
  r.thresholds.forEach((t, i) => {
    const colour = COLOURS[i % COLOURS.length] as string
    const e = { ...r.economics, collateralMultiple: t.k }
    const path: string[] = []
    for (let s = 0; s <= 60; s++) {
      const p = pMax * s / 60
      path.push(`${s === 0 ? 'M' : 'L'}${f(x(p))} ${f(y(cheaterProfitPerDeal(e, p) / Number(r.economics.price)))}`)
    }
    out.push(`<path d="${path.join(' ')}" fill="none" stroke="${colour}" stroke-width="2"/>`)
    for (const pt of r.points.filter(pt => pt.k === t.k && Number.isFinite(pt.cheater))) {
      out.push(`<circle cx="${f(x(pt.p))}" cy="${f(y(pt.cheater))}" r="4" fill="${colour}"/>`)
    }
    if (t.pStar <= pMax) {
      out.push(`<line x1="${f(x(t.pStar))}" y1="${f(y(r.honestExpected) - 10)}" x2="${f(x(t.pStar))}" y2="${f(y(r.honestExpected) + 10)}" stroke="${colour}" stroke-width="3"/>`)
    }
    if (t.pModicum <= pMax) {
      out.push(`<path d="M${f(x(t.pModicum))} ${f(y(yMin))} l-5 -10 l10 0 z" fill="${colour}"/>`)
    }
    const ly = m.top + 20 + i * 36
    out.push(`<line x1="${W - m.right + 20}" y1="${ly}" x2="${W - m.right + 44}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`)
    out.push(`<text x="${W - m.right + 50}" y="${ly + 4}">k = ${t.k}</text>`)
    out.push(`<text x="${W - m.right + 50}" y="${ly + 18}" font-size="10">p* ${t.pStar.toFixed(3)}, MODiCuM ${Number.isFinite(t.pModicum) ? t.pModicum.toFixed(3) : '-'}</text>`)
  })
  const ly = m.top + 20 + r.thresholds.length * 36 + 10
  out.push(`<text x="${W - m.right + 20}" y="${ly}" font-size="10">lines: closed form; dots: measured</text>`)
  out.push(`<text x="${W - m.right + 20}" y="${ly + 14}" font-size="10">| on the honest line: p*, where</text>`)
  out.push(`<text x="${W - m.right + 20}" y="${ly + 28}" font-size="10">cheating stops paying</text>`)
  out.push(`<text x="${W - m.right + 20}" y="${ly + 42}" font-size="10">▲ on the axis: MODiCuM's p</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}
