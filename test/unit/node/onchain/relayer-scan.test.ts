import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { OnchainRelayer, type OnchainJobs } from '../../../../src/node/onchain/relayer.ts'
import type { JobRequestedEvent, JobRequestRecord } from '../../../../src/settlement/onchain-jobs.ts'
import type { LilypadNode } from '../../../../src/node/node.ts'

/** A jobs contract whose chain is `head` blocks long, with a delivered request at each block of `at`. */
function chainOf (head: { n: number }, at: number[]): { jobs: OnchainJobs, ranges: Array<[number, number]> } {
  const ranges: Array<[number, number]> = []
  const jobs = {
    provider: { getBlockNumber: async () => head.n },
    requestsSince: async (from: number, to: number) => {
      ranges.push([from, to])
      return at.filter(b => b >= from && b <= to).map(b => ({ requestId: '0x' + b.toString(16).padStart(64, '0'), blockNumber: b }) as JobRequestedEvent)
    },
    requestOf: async () => ({ status: 'Delivered' }) as JobRequestRecord
  } as unknown as OnchainJobs
  return { jobs, ranges }
}

const node = { logger: pino({ level: 'silent' }), host: { runtime: { streams: () => [] }, job: () => undefined } } as unknown as LilypadNode

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
})
