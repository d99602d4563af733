import { describe, expect, test } from 'vitest'
import type { ActorRuntime, Change } from '../../../../src/actors/runtime/actor-runtime.ts'
import { DealActivity, type Activity } from '../../../../src/node/activity/deal-activity.ts'

const DEAL = '0x' + 'd'.repeat(64)
const OFFER = '0x' + 'a'.repeat(64)
const STREAM = `job:${OFFER.slice(2)}`

/** A runtime stand-in: the streams' contexts, and what the runtime would tell subscribers. */
function fakeRuntime (): { runtime: ActorRuntime, change: (context: object, records?: Change['records']) => void } {
  const listeners = new Set<(change: Change) => void>()
  let context: object = creator('offering', null)
  const runtime = {
    streams: () => [STREAM],
    snapshot: () => ({ context }),
    pendingOutputs: () => [],
    subscribe: (listener: (change: Change) => void) => { listeners.add(listener); return () => listeners.delete(listener) }
  } as unknown as ActorRuntime
  return {
    runtime,
    change: (next, records = []) => {
      context = next
      for (const listener of listeners) listener({ stream: STREAM, snapshot: { context } as never, records })
    }
  }
}

function creator (phase: string, dealId: string | null, outcome: string | null = null): object {
  return { jobOfferId: OFFER, phase, dealId, outcome, resultsCid: null }
}

describe('what a node\'s machines do, as it happens', () => {
  test('each deal state change once, with where it came from; each effect\'s start and end, with its deal', () => {
    const { runtime, change } = fakeRuntime()
    const seen: Activity[] = []
    const activity = new DealActivity(runtime, () => 1000)
    activity.subscribe(a => seen.push(a))
    expect(activity.current()).toMatchObject([{ role: 'job-creator', state: 'JobOffered' }])

    change(creator('agreeing', DEAL), [{ seq: 5, type: 'output', data: { stream: STREAM, output: { type: 'chain.readDeposit', id: `funds:${DEAL}`, dealId: DEAL } } } as never])
    change(creator('agreeing', DEAL), [{ seq: 6, type: 'ack', data: { stream: STREAM, id: `funds:${DEAL}` } } as never])
    change(creator('awaitingResults', DEAL), [
      { seq: 7, type: 'output', data: { stream: STREAM, output: { type: 'results.fetch', id: `fetch:${DEAL}` } } } as never,
      { seq: 8, type: 'ack', data: { stream: STREAM, id: `fetch:${DEAL}`, error: 'no provider answers' } } as never
    ])
    change(creator('done', DEAL, 'Accepted'))

    expect(seen).toEqual([
      { kind: 'effect.start', stream: STREAM, id: `funds:${DEAL}`, type: 'chain.readDeposit', dealId: DEAL, at: 1000 },
      { kind: 'deal', role: 'job-creator', stream: STREAM, jobOfferId: OFFER, dealId: DEAL, from: 'JobOffered', to: 'Matched', resultsCid: null, at: 1000 },
      { kind: 'effect.end', stream: STREAM, id: `funds:${DEAL}`, type: 'chain.readDeposit', dealId: DEAL, at: 1000 },
      { kind: 'effect.start', stream: STREAM, id: `fetch:${DEAL}`, type: 'results.fetch', dealId: DEAL, at: 1000 },
      { kind: 'effect.end', stream: STREAM, id: `fetch:${DEAL}`, type: 'results.fetch', dealId: DEAL, error: 'no provider answers', at: 1000 },
      { kind: 'deal', role: 'job-creator', stream: STREAM, jobOfferId: OFFER, dealId: DEAL, from: 'Matched', to: 'Agreed', resultsCid: null, at: 1000 },
      { kind: 'deal', role: 'job-creator', stream: STREAM, jobOfferId: OFFER, dealId: DEAL, from: 'Agreed', to: 'Accepted', resultsCid: null, at: 1000 }
    ])
    activity.stop()
    change(creator('done', DEAL, 'Settled'))
    expect(seen).toHaveLength(7)
  })

  test('a run started on a proposal concerns no deal yet, though its id ends with the proposal\'s', () => {
    const { runtime, change } = fakeRuntime()
    const seen: Activity[] = []
    const activity = new DealActivity(runtime, () => 1000)
    activity.subscribe(a => seen.push(a))
    const proposal = '0x' + 'b'.repeat(64)
    change(creator('offering', null), [{ seq: 5, type: 'output', data: { stream: STREAM, output: { type: 'job.warm', id: `warm:${proposal}` } } } as never])
    expect(seen).toEqual([{ kind: 'effect.start', stream: STREAM, id: `warm:${proposal}`, type: 'job.warm', dealId: null, at: 1000 }])
    activity.stop()
  })
})
