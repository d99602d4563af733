import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { InputEvent } from '../../../src/state-machines/contract.ts'
import { mediatorMachine } from '../../../src/state-machines/mediator.machine.ts'
import { step } from '../../../src/state-machines/step.ts'
import { domainJson, drive, parties, received, scenario, sign, T0, timer } from './fixtures.ts'
import { assertReplayProperty } from './replay-property.ts'

const s = scenario()
const input = { domain: domainJson, self: parties.mediator.address, capacity: 1, at: T0 }
const ev = {
  challenge: received(s.challenged, T0 + 4, [s.dealEnv, s.results, s.jobEnv]),
  fetched: (ok: boolean): InputEvent => ({ type: 'results.fetched', effect: `fetch:${s.dealId}`, ok, at: T0 + 5 }),
  rerun: (cid: string): InputEvent => ({ type: 'job.finished', effect: `rerun:${s.dealId}`, resultsCid: cid, at: T0 + 6 }),
  /** the chain's record, read before the re-run */
  observed: (state: string, extra: Record<string, unknown> = {}): InputEvent => ({ type: 'chain.observed', effect: `confirm:${s.dealId}:${T0 + 4}`, dealId: s.dealId, state, ...extra, at: T0 + 4 })
}
const mediating = ev.observed('Mediating', { mediator: parties.mediator.address })

describe('mediator', () => {
  test('when challenged on a deal that names it, it reads the deal on chain, then fetches the results and re-runs the job', () => {
    expect(drive(mediatorMachine, input, [ev.challenge]).last).toEqual([{ type: 'chain.watch', id: `confirm:${s.dealId}:${T0 + 4}`, dealId: s.dealId }])
    const r = drive(mediatorMachine, input, [ev.challenge, mediating])
    expect(r.last).toEqual([
      { type: 'results.fetch', id: `fetch:${s.dealId}`, dealId: s.dealId, resultsCid: s.cid, from: parties.resourceProvider.address },
      expect.objectContaining({ type: 'job.run', id: `rerun:${s.dealId}`, purpose: 'mediate', job: s.job })
    ])
    expect(r.snapshot.context.deadlines).toEqual({ [`mediate:${s.dealId}`]: s.deal.mediateDeadline })
  })

  test.each([
    ['the same CID', true, s.cid, false, 'MediationAccepted'],
    ['another CID', true, s.otherCid, true, 'MediationRejected'],
    ['unfetchable results', false, s.cid, true, 'MediationRejected']
  ] as const)('with %s, it signs a verdict and settles the fee it is owed', (_, fetched, cid, fault, outcome) => {
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, ev.fetched(fetched), ev.rerun(cid)])
    expect(r.last).toEqual([
      expect.objectContaining({
        type: 'message.send', messageType: 'MediationVerdict', to: [parties.jobCreator.address, parties.resourceProvider.address],
        message: expect.objectContaining({ dealId: s.dealId, resultsCid: s.cid, mediatorCid: cid, providerAtFault: fault })
      }),
      expect.objectContaining({ type: 'chain.settle', outcome })
    ])
    expect(r.snapshot.context.deadlines).toEqual({})
  })

  test('a mediation that ended is forgotten when a later challenge comes after its deal\'s mediate deadline', () => {
    const decided = drive(mediatorMachine, input, [ev.challenge, mediating, ev.fetched(true), ev.rerun(s.cid)])
    expect(decided.snapshot.context.mediations[s.dealId]!.state).toBe('decided')
    // a deal agreed later, still open to challenge after the first deal's mediate deadline
    const o = scenario({ job: { nonce: '5' }, proposal: { expiry: s.prop.expiry + s.job.mediateWithin + 10 } })
    const at = s.deal.mediateDeadline + 1
    expect(o.deal.judgeDeadline).toBeGreaterThanOrEqual(at)
    const r = step(mediatorMachine, decided.snapshot, received(o.challenged, at, [o.dealEnv, o.results, o.jobEnv]))
    expect(Object.keys(r.snapshot.context.mediations)).toEqual([o.dealId])
    // one that ended within its deadlines is kept
    const early = step(mediatorMachine, decided.snapshot, received(o.challenged, s.deal.mediateDeadline, [o.dealEnv, o.results, o.jobEnv]))
    expect(Object.keys(early.snapshot.context.mediations)).toEqual([s.dealId, o.dealId])
  })

  test('a re-run that could not run the job here (no GPU) gives no verdict; one that fails for the job\'s own reason does', () => {
    const failedHere = { ...ev.rerun('bafy-failed-run'), failure: 'ERR_GPU_UNAVAILABLE' }
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, ev.fetched(true), failedHere])
    expect(r.last).toEqual([expect.objectContaining({ type: 'deal.declined', dealId: s.dealId })])
    expect(r.snapshot.context.mediations[s.dealId]).toMatchObject({ state: 'declined' })
    expect(r.snapshot.context.deadlines).toEqual({})
    const failedForAll = drive(mediatorMachine, input, [ev.challenge, mediating, ev.fetched(true), { ...ev.rerun('bafy-failed-run'), failure: 'ERR_SPEC_MISMATCH' }])
    expect(failedForAll.last[0]).toMatchObject({ messageType: 'MediationVerdict', message: expect.objectContaining({ providerAtFault: true }) })
    // the provider's results are the same failure: reproduced, whatever its kind
    const same = drive(mediatorMachine, input, [ev.challenge, mediating, ev.fetched(true), { ...ev.rerun(s.cid), failure: 'ERR_GPU_UNAVAILABLE' }])
    expect(same.last[0]).toMatchObject({ messageType: 'MediationVerdict', message: expect.objectContaining({ providerAtFault: false }) })
  })

  test('the verdict waits for both the fetch and the re-run, in either order', () => {
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, ev.rerun(s.cid)])
    expect(r.last).toEqual([])
    expect(drive(mediatorMachine, input, [ev.challenge, mediating, ev.rerun(s.cid), ev.fetched(true)]).last[0]).toMatchObject({ messageType: 'MediationVerdict' })
  })

  test('when the mediate deadline passes first, it gives up and claims nothing', () => {
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, timer(`mediate:${s.dealId}`, s.deal.mediateDeadline)])
    expect(r.last).toEqual([])
    expect(r.snapshot.context.mediations[s.dealId]!.state).toBe('missed')
    expect(step(mediatorMachine, r.snapshot, ev.rerun(s.cid)).outputs[0]).toMatchObject({ code: 'WRONG_STATE' })
  })

  test.each([
    ['a challenge naming another mediator', [], () => received(sign(parties.jobCreator, 'ResultsChallenged', { ...s.challenged.message, mediator: parties.otherMediator.address }), T0 + 4, [s.dealEnv, s.results, s.jobEnv]), 'WRONG_PARTY'],
    ['a challenge without the deal', [], () => received(s.challenged, T0 + 4, [s.results, s.jobEnv]), 'INCONSISTENT'],
    ['a challenge by the provider', [], () => received(sign(parties.resourceProvider, 'ResultsChallenged', { ...s.challenged.message, author: parties.resourceProvider.address }), T0 + 4, [s.dealEnv, s.results, s.jobEnv]), 'WRONG_PARTY'],
    ['a challenge after the mediate deadline (when it expires)', [], () => ({ ...ev.challenge, at: s.deal.mediateDeadline + 1 }), 'EXPIRED'],
    ['a challenge of other results of a deal in mediation', [ev.challenge], () => received(
      sign(parties.jobCreator, 'ResultsChallenged', { ...s.challenged.message, resultsCid: s.otherCid }), T0 + 4,
      [s.dealEnv, sign(parties.resourceProvider, 'ResultsSubmitted', { ...s.results.message, resultsCid: s.otherCid }), s.jobEnv]), 'DUPLICATE'],
    ['a second challenge beyond capacity', [ev.challenge], () => {
      const o = scenario({ job: { nonce: '5' } })
      return received(o.challenged, T0 + 4, [o.dealEnv, o.results, o.jobEnv])
    }, 'NO_CAPACITY'],
    ['a re-run result for another deal', [ev.challenge, mediating], () => ({ ...ev.rerun(s.cid), effect: 'rerun:0x00' }), 'WRONG_DEAL']
  ] as const)('%s is rejected and changes nothing', (_, before, event, code) => {
    const r = drive(mediatorMachine, input, [...before])
    const after = step(mediatorMachine, r.snapshot, event())
    expect(after.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code })])
    expect(after.snapshot.context).toEqual(r.snapshot.context)
  })

  test('a challenge passed on after the judge deadline is taken only once the chain shows the deal in mediation before this mediator', () => {
    const late = drive(mediatorMachine, input, [{ ...ev.challenge, at: s.deal.judgeDeadline + 1 }])
    expect(late.last).toEqual([{ type: 'chain.watch', id: `confirm:${s.dealId}:${s.deal.judgeDeadline + 1}`, dealId: s.dealId }])
    const observed = (state: string, mediator?: string): InputEvent => ({ type: 'chain.observed', effect: `confirm:${s.dealId}:${s.deal.judgeDeadline + 1}`, dealId: s.dealId, state, ...(mediator === undefined ? {} : { mediator }), at: s.deal.judgeDeadline + 2 })
    const taken = step(mediatorMachine, late.snapshot, observed('Mediating', parties.mediator.address))
    expect(taken.outputs.map(o => o.type)).toEqual(['results.fetch', 'job.run'])
    expect(taken.snapshot.context.deadlines[`mediate:${s.dealId}`]).toBe(s.deal.mediateDeadline)
    for (const refused of [observed('ResultsSubmitted'), observed('Mediating', parties.otherMediator.address)]) {
      const dropped = step(mediatorMachine, late.snapshot, refused)
      expect(dropped.outputs).toEqual([])
      expect(dropped.snapshot.context.mediations).toEqual({})
    }
  })

  test('a challenge in time is mediated unless the chain settled the deal (an equivocation settles at once)', () => {
    // the chain may not yet hold a challenge that was posted in time
    for (const state of ['ResultsSubmitted', 'JobOffered']) {
      expect(drive(mediatorMachine, input, [ev.challenge, ev.observed(state)]).last.map(o => o.type)).toEqual(['results.fetch', 'job.run'])
    }
    const settled = drive(mediatorMachine, input, [ev.challenge, ev.observed('Settled', { outcome: 'MediationRejected' })])
    expect(settled.last).toEqual([])
    expect(settled.snapshot.context.mediations[s.dealId]!.state).toBe('settled')
    expect(settled.snapshot.context.deadlines).toEqual({})
    expect(step(mediatorMachine, settled.snapshot, ev.challenge).outputs).toEqual([])
  })

  test('when the chain cannot be read, a challenge in time is mediated and a late one dropped', () => {
    const failed = (read: number, at: number): InputEvent => ({ type: 'effect.failed', effect: `confirm:${s.dealId}:${read}`, error: 'CHAIN_UNAVAILABLE', at })
    expect(drive(mediatorMachine, input, [ev.challenge, failed(T0 + 4, T0 + 5)]).last.map(o => o.type)).toEqual(['results.fetch', 'job.run'])
    const late = drive(mediatorMachine, input, [{ ...ev.challenge, at: s.deal.judgeDeadline + 1 }, failed(s.deal.judgeDeadline + 1, s.deal.judgeDeadline + 2)])
    expect(late.last).toEqual([])
    expect(late.snapshot.context.mediations).toEqual({})
  })

  test('the same challenge twice (from the creator, and passed on by the provider) is one mediation', () => {
    const r = drive(mediatorMachine, input, [ev.challenge])
    const again = step(mediatorMachine, r.snapshot, ev.challenge)
    expect(again.outputs).toEqual([])
    expect(again.snapshot.context).toEqual(r.snapshot.context)
  })

  test('property: rejected inputs change nothing and a replay reproduces the run', () => {
    const events = fc.constantFrom<InputEvent>(ev.challenge, mediating, ev.observed('Settled', { outcome: 'MediationRejected' }), ev.fetched(true), ev.fetched(false), ev.rerun(s.cid), ev.rerun(s.otherCid),
      timer(`mediate:${s.dealId}`, s.deal.mediateDeadline), { type: 'noise', at: T0 })
    assertReplayProperty(mediatorMachine, input, events)
  })
})
