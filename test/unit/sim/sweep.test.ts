import { describe, expect, test } from 'vitest'
import { defaultEconomics } from '../../../sim/config.ts'
import { cheaterProfitPerDeal, honestProfitPerDeal, thresholds } from '../../../sim/economics.ts'
import { formatSweep, renderSweepSvg, sweep } from '../../../sim/sweep.ts'

describe('closed form', () => {
  test('at p* a cheater earns what honest work earns; MODiCuM\'s condition asks for a higher check rate', () => {
    for (const k of [0.5, 1, 2, 4]) {
      const e = { ...defaultEconomics(), collateralMultiple: k }
      const t = thresholds(e)
      expect(cheaterProfitPerDeal(e, t.pStar)).toBeCloseTo(honestProfitPerDeal(e), 0)
      expect(cheaterProfitPerDeal(e, t.pBreakEven)).toBeCloseTo(0, 0)
      expect(t.pModicum).toBeGreaterThan(t.pStar)
    }
  })
})

describe('sweep', () => {
  test('measured cheater profit falls with p, crosses honest work near p*, and the plot marks the thresholds', () => {
    // p = 0.8, well past p* for both k: at k = 1 and p = 0.5 the expected loss (-0.3 per deal) is
    // within the noise of the ~37 cheating deals a run this small holds
    const heard: string[] = []
    const r = sweep({ nodes: 20, jobs: 60, seed: '3', signatures: 'fast', q: 0.5 }, [1, 4], [0, 0.8], (done, total, point) => {
      heard.push(`${done}/${total} k${point.k} p${point.p}`)
    })
    expect(r.points).toHaveLength(4)
    expect(heard).toEqual(['1/4 k1 p0', '2/4 k1 p0.8', '3/4 k4 p0', '4/4 k4 p0.8'])
    for (const k of [1, 4]) {
      const [low, high] = r.points.filter(p => p.k === k)
      expect(low!.cheater).toBeGreaterThan(r.honestExpected)
      expect(high!.cheater).toBeLessThan(r.honestExpected)
      expect(high!.cheater).toBeLessThan(0)
      expect(low!.cheater).toBeCloseTo(low!.expected, 5)
    }
    const svg = renderSweepSvg(r)
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg.trim().endsWith('</svg>')).toBe(true)
    expect(svg).toContain('k = 1')
    expect(svg).toContain('k = 4')
    expect(svg).toContain(`p* ${r.thresholds[0]!.pStar.toFixed(3)}`)
    expect(formatSweep(r)).toContain('MODiCuM')
  })
})
