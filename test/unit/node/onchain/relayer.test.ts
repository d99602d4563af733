import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { dealWindows, OnchainRelayer, type OnchainJobs } from '../../../../src/node/onchain/relayer.ts'
import type { JobRequestedEvent, JobRequestRecord } from '../../../../src/settlement/onchain-jobs.ts'
import type { LilypadNode } from '../../../../src/node/node.ts'

const SPEC = { moduleRepo: 'github.com/a/b', moduleCommit: 'c'.repeat(40), modulePath: 'lilypad_module.json.tmpl', inputs: '{"Message":"moo"}', outputPath: '', outputLimit: 0 }
const TERMS = { payment: 10n ** 18n, relayerFee: 1n, deadline: Date.now() + 3600_000, claimWindow: 600_000, callbackGasLimit: 0, claimBond: 0n, maxMediatorFee: 0n }

/**
 * A jobs contract whose chain is `head` blocks long, with a request at each block of `at`: delivered
 * already, or open with `spec`.
 */
function chainOf (head: { n: number }, at: number[], open?: Partial<typeof SPEC>): { jobs: OnchainJobs, ranges: Array<[number, number]>, claims: string[] } {
  const ranges: Array<[number, number]> = []
  const claims: string[] = []
  const jobs = {
    provider: { getBlockNumber: async () => head.n },
    requestsSince: async (from: number, to: number) => {
      ranges.push([from, to])
      return at.filter(b => b >= from && b <= to).map(b => ({ requestId: '0x' + b.toString(16).padStart(64, '0'), blockNumber: b, spec: { ...SPEC, ...open }, terms: TERMS }) as JobRequestedEvent)
    },
    requestOf: async () => ({ status: open === undefined ? 'Delivered' : 'Open', claimedUntil: 0, terms: TERMS }) as unknown as JobRequestRecord,
    tokenBalance: async () => 10n ** 18n,
    claim: async (requestId: string) => { claims.push(requestId); throw new Error('not here') }
  } as unknown as OnchainJobs
  return { jobs, ranges, claims }
}

const node = { address: '0x0000000000000000000000000000000000000001', logger: pino({ level: 'silent' }), host: { runtime: { streams: () => [] }, job: () => undefined } } as unknown as LilypadNode

describe('a relayer reads the requests', () => {
  it('from the jobs contract\'s deployment, a bounded range at a time, up to the head and then on from it', async () => {
    const head = { n: 5_500 }
    const { jobs, ranges } = chainOf(head, [1_200, 4_000, 5_600])
    const relayer = new OnchainRelayer(node, jobs, { network: 'n', solvers: [], mediators: [], dataDir: '/nonexistent', fromBlock: 1_000 })
    await relayer.tick()
    expect(ranges).toEqual([[1_000, 2_999], [3_000, 4_999], [5_000, 5_500]])
    head.n = 5_700
    await relayer.tick()
    await relayer.tick()
    expect(ranges.slice(3)).toEqual([[5_501, 5_700]])
  })

  it('leaves a request whose output the results may lack, or whose inputs are not a job offer\'s, unclaimed, and says why', async () => {
    const cases = [
      { open: { outputPath: 'outputs/answer.txt', outputLimit: 10 }, why: 'it asks for outputs/answer.txt, which the results may lack' },
      { open: { inputs: '{"Message": "moo"}' }, why: 'its inputs are not a compact JSON object of strings' },
      { open: { inputs: '{"n":1}' }, why: 'its inputs are not a compact JSON object of strings' }
    ]
    for (const { open, why } of cases) {
      const { jobs, claims } = chainOf({ n: 10 }, [5], open)
      const said: string[] = []
      const logger = pino({ level: 'debug' }, { write: (line: string) => { said.push(String((JSON.parse(line) as { why?: string }).why)) } })
      const relayer = new OnchainRelayer({ ...node, logger } as unknown as LilypadNode, jobs, { network: 'n', solvers: [], mediators: [], dataDir: '/nonexistent' })
      await relayer.tick()
      expect(claims).toEqual([])
      expect(said.join('\n')).toContain(why)
    }
  })
})

describe('a relayer fits the deal of a request within its claim', () => {
  it('gives the job its timeout and a margin, and shares what is left between the match and submit windows', () => {
    // a 5 s job in a 40 s claim (30 s once the settlement's margin is taken): 7.5 s to find a provider, not 5
    expect(dealWindows(30_000, 5_000, 425_000)).toEqual({ agreeWithinMs: 10_000, matchWithinMs: 7_500, submitWithinMs: 12_500 })
    // a 60 s job in 135 s: a provider busy for 20 s more still takes it
    expect(dealWindows(135_000, 60_000, 480_000)).toEqual({ agreeWithinMs: 30_000, matchWithinMs: 22_500, submitWithinMs: 82_500 })
    // time to spare: the match window stops at a minute, the submit window at the module's own
    expect(dealWindows(3_600_000, 60_000, 480_000)).toEqual({ agreeWithinMs: 30_000, matchWithinMs: 60_000, submitWithinMs: 480_000 })
    // not even the least of each: not now
    expect(dealWindows(24_999, 5_000, 425_000)).toBeUndefined()
    for (let budget = 25_000; budget < 700_000; budget += 7_919) {
      const w = dealWindows(budget, 60_000, 480_000)
      if (w === undefined) { expect(budget).toBeLessThan(30_000 + 5_000 + 65_000); continue }
      expect(w.matchWithinMs + w.agreeWithinMs + w.submitWithinMs).toBeLessThanOrEqual(budget)
      expect(w.submitWithinMs).toBeGreaterThanOrEqual(65_000)
      expect(w.matchWithinMs).toBeGreaterThanOrEqual(5_000)
    }
  })
})
