import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { GAS } from './chain.ts'
import { defaultEconomics, type Economics } from './config.ts'
import {
  checkRatePercent, defaultCheckRatePercent, deterrence, deterrenceJson, deterrenceReport, formatDeterrence,
  nodeEconomics, pStarCeilPercent
} from './deterrence.ts'
import { cheaterProfitPerDeal, honestProfitPerDeal, thresholds } from './economics.ts'

const repoRoot = fileURLToPath(new URL('../', import.meta.url))

const cases: Array<[string, Economics]> = [
  ['node defaults, compute cost = price', nodeEconomics()],
  ['simulator economics', defaultEconomics()],
  ['simulator economics, k = 0.5', { ...defaultEconomics(), collateralMultiple: 0.5 }],
  ['simulator economics, k = 4', { ...defaultEconomics(), collateralMultiple: 4 }]
]

/** what cheating earns beyond honest work at a check rate of `percent` */
const gain = (e: Economics, percent: number): number => cheaterProfitPerDeal(e, percent / 100) - honestProfitPerDeal(e)

describe('the default check rate', () => {
  test.each(cases)('%s: cheating earns less than honest work at the default, and pays one point below p*', (_, e) => {
    const { pStar } = thresholds(e)
    const chosen = checkRatePercent(e)
    expect(Number.isInteger(chosen)).toBe(true)
    expect(chosen).toBe(Math.ceil(pStar * 100) + 1)
    expect(gain(e, chosen)).toBeLessThan(0)
    expect(gain(e, Math.floor(pStar * 100 - 1))).toBeGreaterThan(0)
    expect(pStarCeilPercent(e) / 100).toBeGreaterThanOrEqual(pStar)
    expect((pStarCeilPercent(e) - 1) / 100).toBeLessThan(pStar)
  })

  test('the exported default is the node defaults\' rate at the worst-case compute cost', () => {
    const e = nodeEconomics()
    expect(e.computeCost).toBe(e.price)
    expect(defaultCheckRatePercent()).toBe(checkRatePercent(e))
    expect(deterrenceReport().defaultCheckRatePercent).toBe(defaultCheckRatePercent())
  })

  test('where p* is a whole percent, cheating only breaks even there: the point of margin makes it lose', () => {
    // gas 0: p* = cost / (price + 2 price + fee) = 0.2 exactly
    const e: Economics = { ...nodeEconomics(), computeCost: 620_000_000_000_000n }
    expect(pStarCeilPercent(e)).toBe(20)
    const at = deterrence('exact', e).rows
    expect(at.find(r => r.percent === 20)).toMatchObject({ difference: '0', cheatingPays: false })
    expect(BigInt(at.find(r => r.percent === checkRatePercent(e))!.difference)).toBeLessThan(0n)
  })

  test('no check rate under 100% deters a cheater whose saving exceeds all it could lose: the rate stops at 100', () => {
    const e: Economics = { ...nodeEconomics(), computeCost: 4n * nodeEconomics().price }
    expect(checkRatePercent(e)).toBe(100)
    expect(deterrence('hopeless', e).rows.every(r => r.percent <= 100)).toBe(true)
  })
})

describe('a provider colluding with one of its deal\'s mediators', () => {
  test.each(cases)('%s: with one judge checks catch (n - 1) / n of its cheats, so the rate that deters it is p* n / (n - 1); with a quorum of 2 of 3, p*; cheating pays just below it', (_, e) => {
    const { pStar } = thresholds(e)
    const d = deterrence('collusion', e)
    for (const row of d.collusion) {
      const n = row.mediators
      const share = row.quorum === 1 ? (n - 1) / n : 1
      const diluted = (percent: number): number => gain(e, percent * share)
      const deterring = row.deterringPercent
      if (deterring === null) {
        expect(pStar / share).toBeGreaterThanOrEqual(0.99)
        continue
      }
      expect(deterring).toBe(Math.floor(pStar / share * 100) + 1)
      expect(diluted(deterring)).toBeLessThan(0)
      expect(diluted(deterring - 1)).toBeGreaterThanOrEqual(-1e-6 * Number(e.price))
      expect(row.cheatingPays).toBe(diluted(d.defaultPercent) > 0)
      expect(Number(row.differenceAtDefault)).toBeCloseTo(diluted(d.defaultPercent), -3)
    }
  })

  test('at the node\'s defaults the default check rate does not deter a pair with one judge of two or three mediators; with a quorum of 2 of 3 it does', () => {
    const rows = deterrence('node', nodeEconomics()).collusion
    expect(rows.map(r => [r.mediators, r.quorum, r.deterringPercent, r.cheatingPays])).toEqual([[2, 1, 65, true], [3, 1, 49, true], [3, 2, 33, false]])
  })
})

describe('the table', () => {
  test.each(cases)('%s: rows are whole percents around p*, cheating pays exactly below it, figures match the closed form', (_, e) => {
    const d = deterrence('t', e)
    const percents = d.rows.map(r => r.percent)
    expect(percents).toEqual([...percents].sort((a, b) => a - b))
    expect(new Set(percents).size).toBe(percents.length)
    expect(percents).toContain(0)
    expect(percents).toContain(d.defaultPercent)
    expect(percents).toContain(d.pStarCeilPercent)
    for (const r of d.rows) {
      expect(Number.isInteger(r.percent) && r.percent >= 0 && r.percent <= 100).toBe(true)
      expect(r.cheatingPays).toBe(r.percent / 100 < d.pStar)
      const scale = Number(e.price)
      expect(Number(r.cheater) / scale).toBeCloseTo(cheaterProfitPerDeal(e, r.percent / 100) / scale, 9)
      expect(Number(r.honest) / scale).toBeCloseTo(honestProfitPerDeal(e) / scale, 9)
      expect(Number(r.difference) / scale).toBeCloseTo(gain(e, r.percent) / scale, 9)
    }
    expect(d.rows.find(r => r.percent === d.defaultPercent)!.label).toContain('default')
  })

  test('the gas the default tolerates is where cheating would break even at the default', () => {
    for (const [, e] of cases) {
      const d = deterrence('t', e)
      // the gas of settling is counted in tokens: a gas price that makes it that share of the price
      const gasPrice = (share: number): number => share * Number(e.price) / GAS.settleBatched
      const at = (share: number): number => {
        const g = { ...e, gasPrice: gasPrice(share) }
        return cheaterProfitPerDeal(g, d.defaultPercent / 100) - honestProfitPerDeal(g)
      }
      expect(at(d.gasToleranceShare * 0.99)).toBeLessThan(0)
      expect(at(d.gasToleranceShare * 1.01)).toBeGreaterThan(0)
    }
  })

})

describe('npm run sim -- deterrence', () => {
  test('exits 0 and prints the default check rate, the table, and the same figures as one line of JSON', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', 'deterrence'], { cwd: repoRoot, encoding: 'utf8' })
    expect(child.status, child.stderr).toBe(0)
    const report = deterrenceReport()
    expect(child.stdout).toBe(formatDeterrence(report) + deterrenceJson(report))
    expect(child.stdout.split('\n')[0]).toContain(`default check rate ${defaultCheckRatePercent()}%`)
    const json = JSON.parse(child.stdout.trimEnd().split('\n').at(-1)!) as { defaultCheckRatePercent: number, node: { rows: Array<{ percent: number, cheatingPays: boolean }> } }
    expect(json.defaultCheckRatePercent).toBe(defaultCheckRatePercent())
    expect(json.node.rows.find(r => r.percent === defaultCheckRatePercent())?.cheatingPays).toBe(false)
  })
})
