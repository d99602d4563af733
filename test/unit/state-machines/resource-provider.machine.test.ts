import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { InputEvent } from '../../../src/state-machines/contract.ts'
import { resourceProviderMachine, type ResourceProviderContext, type SlotTerms } from '../../../src/state-machines/resource-provider.machine.ts'
import { step } from '../../../src/state-machines/step.ts'
import { domainJson, drive, idOf, parties, received, resourceOffer, scenario, sign, T0, timer } from './fixtures.ts'
import { assertReplayProperty } from './replay-property.ts'

const TTL = 120_000
// the offer the provider publishes for slot 0 at T0 is the scenario's offer
const s = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL } })
const { author: _a, nonce: _n, expiry: _e, slot: _s, ...terms } = s.offer
const slotTerms: SlotTerms = terms
const input = { domain: domainJson, self: parties.resourceProvider.address, slots: [slotTerms, slotTerms], offerTtlMs: TTL, commitMarginMs: 20_000, at: T0 }

const ev = {
  proposal: received(s.propEnv, T0 + 1, [s.jobEnv]),
  deal: received(s.halfSigned, T0 + 2),
  finished: { type: 'job.finished', effect: `run:${s.dealId}`, resultsCid: s.cid, exitCode: 0, cpuMs: 5, durationMs: 9, at: T0 + 3 } as InputEvent,
  accepted: received(s.accepted, T0 + 4),
  challenged: received(s.challenged, T0 + 4),
  verdict: (fault: boolean) => received(s.verdict(fault), T0 + 5)
}
const toSubmitted = [ev.proposal, ev.deal, ev.finished]

/** The state a deal that ended was left in. */
const endedState = (c: ResourceProviderContext, dealId: string): string | undefined => c.endedDeals.find(d => d.dealId === dealId)?.state

describe('resource provider', () => {
  test('given slots, it publishes one offer per slot and arms their renewal', () => {
    const r = drive(resourceProviderMachine, input, [])
    expect(r.outputs.map(o => o.message)).toEqual([s.offer, { ...s.offer, slot: 1 }])
    expect(r.snapshot.context.deadlines).toEqual({ 'offer:0': T0 + TTL, 'offer:1': T0 + TTL })
  })

  test('when a proposal for its offer arrives, it holds it; nothing is signed yet', () => {
    const r = drive(resourceProviderMachine, input, [ev.proposal])
    expect(r.snapshot.context.proposals.map(p => p.id)).toEqual([idOf('MatchProposal', s.prop)])
    expect(r.last).toEqual([])
  })

  test('when the creator\'s signed deal matches the proposal and its offer, it co-signs and runs the job', () => {
    const r = drive(resourceProviderMachine, input, [ev.proposal, ev.deal])
    expect(r.last).toEqual([
      expect.objectContaining({ type: 'message.send', id: `cosign:${s.dealId}`, messageType: 'Deal', message: s.deal, signatures: s.halfSigned.signatures }),
      expect.objectContaining({ type: 'job.run', id: `run:${s.dealId}`, purpose: 'execute', job: s.job })
    ])
    expect(r.snapshot.context.slots[0]!.dealId).toBe(s.dealId)
    expect(r.snapshot.context.deadlines['submit:0']).toBe(s.deal.submitDeadline)
  })

  test('it signs at most one deal per slot', () => {
    const other = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL }, job: { nonce: '2' }, proposal: { nonce: '8' } })
    const r = drive(resourceProviderMachine, input, [ev.proposal, received(other.propEnv, T0 + 1, [other.jobEnv]), ev.deal])
    const second = step(resourceProviderMachine, r.snapshot, received(other.halfSigned, T0 + 2))
    expect(second.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'WRONG_DEAL' })])
    const late = step(resourceProviderMachine, r.snapshot, received(other.propEnv, T0 + 3, [other.jobEnv]))
    expect(late.outputs).toEqual([expect.objectContaining({ code: 'NO_CAPACITY' })])
  })

  test('when the run finishes, it submits results and arms the judge and commit deadlines', () => {
    const r = drive(resourceProviderMachine, input, toSubmitted)
    expect(r.last).toEqual([expect.objectContaining({
      type: 'message.send', messageType: 'ResultsSubmitted', to: [parties.jobCreator.address],
      message: expect.objectContaining({ dealId: s.dealId, resultsCid: s.cid, exitCode: 0, cpuMs: 5, durationMs: 9 })
    })])
    expect(r.snapshot.context.deadlines).toMatchObject({ ['judge:0']: s.deal.judgeDeadline, ['commit:0']: s.deal.submitDeadline - 20_000 })
  })

  test('when results are accepted, it settles on chain and offers the slot again', () => {
    const r = drive(resourceProviderMachine, input, [...toSubmitted, ev.accepted])
    expect(r.last.map(o => o.type)).toEqual(['chain.settle', 'message.publish'])
    expect(r.last[0]).toMatchObject({ outcome: 'Accepted', dealId: s.dealId })
    expect(r.snapshot.context.slots[0]!.dealId).toBeNull()
    expect(endedState(r.snapshot.context, s.dealId)).toBe('Accepted')
    expect(r.snapshot.context.deals).toEqual({})
    expect(Object.keys(r.snapshot.context.deadlines).sort()).toEqual(['offer:0', 'offer:1'])
  })

  test('when challenged, it provides the results to the mediator', () => {
    const r = drive(resourceProviderMachine, input, [...toSubmitted, ev.challenged])
    expect(r.last).toEqual([{ type: 'results.provide', id: `provide:${s.dealId}`, dealId: s.dealId, resultsCid: s.cid, to: parties.mediator.address }])
    expect(r.snapshot.context.deadlines['mediate:0']).toBe(s.deal.mediateDeadline)
  })

  test('a verdict for it is settled; a verdict against it only frees the slot', () => {
    const won = drive(resourceProviderMachine, input, [...toSubmitted, ev.challenged, ev.verdict(false)])
    expect(won.last.map(o => o.type)).toEqual(['chain.settle', 'message.publish'])
    const lost = drive(resourceProviderMachine, input, [...toSubmitted, ev.challenged, ev.verdict(true)])
    expect(lost.last.map(o => o.type)).toEqual(['message.publish'])
    expect(endedState(lost.snapshot.context, s.dealId)).toBe('MediationRejected')
  })

  describe('deadlines', () => {
    test('judge deadline: it claims TimeoutJudge', () => {
      const r = drive(resourceProviderMachine, input, [...toSubmitted, timer('judge:0', s.deal.judgeDeadline)])
      expect(r.last[0]).toMatchObject({ type: 'chain.claim', claim: 'TimeoutJudge' })
    })
    test('commit deadline: results not yet accepted are committed on chain', () => {
      const r = drive(resourceProviderMachine, input, [...toSubmitted, timer('commit:0', s.deal.submitDeadline - 20_000)])
      expect(r.last).toEqual([{ type: 'chain.commitResults', id: `commit:${s.dealId}`, dealId: s.dealId, resultsCid: s.cid }])
    })
    test('mediate deadline: it claims TimeoutMediate', () => {
      const r = drive(resourceProviderMachine, input, [...toSubmitted, ev.challenged, timer('mediate:0', s.deal.mediateDeadline)])
      expect(r.last[0]).toMatchObject({ type: 'chain.claim', claim: 'TimeoutMediate' })
    })
    test('submit deadline missed: the deal is lost and the slot freed', () => {
      const r = drive(resourceProviderMachine, input, [ev.proposal, ev.deal, timer('submit:0', s.deal.submitDeadline)])
      expect(endedState(r.snapshot.context, s.dealId)).toBe('TimeoutSubmit')
      expect(r.last.map(o => o.type)).toEqual(['message.publish'])
    })
    test('given a TimeoutJudge claim the chain refused, when the chain settles the deal as mediated, it records that outcome', () => {
      const claimed = drive(resourceProviderMachine, input, [...toSubmitted, timer('judge:0', s.deal.judgeDeadline)])
      const settled = { type: 'chain.settled', effect: `claim:${s.dealId}`, dealId: s.dealId, outcome: 'MediationRejected', at: s.deal.mediateDeadline }
      const r = step(resourceProviderMachine, claimed.snapshot, settled)
      expect(endedState(r.snapshot.context, s.dealId)).toBe('MediationRejected')
      expect(r.snapshot.context.slots).toEqual(claimed.snapshot.context.slots)
      expect(r.outputs).toEqual([])
    })
    test('when the chain settles a deal still running here, the deal ends with that outcome and its slot is offered again', () => {
      const running = drive(resourceProviderMachine, input, [ev.proposal, ev.deal])
      const r = step(resourceProviderMachine, running.snapshot, { type: 'chain.settled', effect: `claim:${s.dealId}`, dealId: s.dealId, outcome: 'TimeoutSubmit', at: s.deal.submitDeadline + 1 })
      expect(endedState(r.snapshot.context, s.dealId)).toBe('TimeoutSubmit')
      expect(r.snapshot.context.deals[s.dealId]).toBeUndefined()
      expect(r.snapshot.context.slots[0]!.dealId).toBeNull()
      expect(Object.keys(r.snapshot.context.deadlines).filter(k => k.endsWith(s.dealId))).toEqual([])
      expect(r.outputs.map(o => o.type)).toEqual(['message.publish'])
    })
    test.each([
      ['a deal it does not hold', { dealId: '0x' + '00'.repeat(32), outcome: 'Accepted' }, 'WRONG_DEAL'],
      ['no outcome', { dealId: s.dealId, outcome: 'Settled' }, 'INCONSISTENT']
    ])('a settlement of %s is rejected and changes nothing', (_, fields, code) => {
      const r = drive(resourceProviderMachine, input, [...toSubmitted])
      const after = step(resourceProviderMachine, r.snapshot, { type: 'chain.settled', effect: `claim:${s.dealId}`, ...fields, at: T0 + 9 })
      expect(after.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code })])
      expect(after.snapshot.context).toEqual(r.snapshot.context)
    })
    test('a deal that ended is forgotten once its mediate deadline has passed, and the chain\'s late word on it is then refused', () => {
      // a second deal, on slot 1, agreed a millisecond later, whose mediate deadline lapses just after the first deal's
      const other = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL, slot: 1 }, job: { nonce: '2' }, proposal: { nonce: '8', expiry: s.prop.expiry + 1 } })
      const ended = drive(resourceProviderMachine, input, [
        ...toSubmitted, ev.accepted,
        received(other.propEnv, T0 + 5, [other.jobEnv]), received(other.halfSigned, T0 + 6),
        { ...ev.finished, effect: `run:${other.dealId}`, at: T0 + 7 }, received(other.challenged, T0 + 8)
      ])
      expect(ended.snapshot.context.endedDeals.map(d => d.dealId)).toEqual([s.dealId])
      expect(Object.keys(ended.snapshot.context.deals)).toEqual([other.dealId])
      expect(other.deal.mediateDeadline).toBeGreaterThan(s.deal.mediateDeadline)
      const r = step(resourceProviderMachine, ended.snapshot, timer('mediate:1', other.deal.mediateDeadline))
      expect(endedState(r.snapshot.context, other.dealId)).toBe('TimeoutMediate')
      expect(r.snapshot.context.endedDeals.map(d => d.dealId)).toEqual([other.dealId])
      expect(r.snapshot.context.deals).toEqual({})
      const late = step(resourceProviderMachine, r.snapshot, { type: 'chain.settled', effect: `settle:${s.dealId}`, dealId: s.dealId, outcome: 'Accepted', at: other.deal.mediateDeadline + 1 })
      expect(late.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'WRONG_DEAL' })])
    })
    test('ended deals are kept in the order of their mediate deadlines, whatever order they ended in', () => {
      const other = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL, slot: 1 }, job: { nonce: '2' }, proposal: { nonce: '8', expiry: s.prop.expiry + 1 } })
      const otherSubmitted = [received(other.propEnv, T0 + 5, [other.jobEnv]), received(other.halfSigned, T0 + 6), { ...ev.finished, effect: `run:${other.dealId}`, at: T0 + 7 }]
      // the deal with the later deadline ends first
      const r = drive(resourceProviderMachine, input, [...toSubmitted, ...otherSubmitted, received(other.accepted, T0 + 8), { ...ev.accepted, at: T0 + 9 }])
      expect(other.deal.mediateDeadline).toBeGreaterThan(s.deal.mediateDeadline)
      expect(r.snapshot.context.endedDeals.map(d => d.dealId)).toEqual([s.dealId, other.dealId])
      expect(r.snapshot.context.endedDeals.map(d => d.state)).toEqual(['Accepted', 'Accepted'])
    })
    test('a deal\'s deadlines are named after its slot, and go with the deal: a late timer of an ended deal is refused', () => {
      const submitted = drive(resourceProviderMachine, input, [...toSubmitted])
      expect(Object.keys(submitted.snapshot.context.deadlines).sort()).toEqual(['commit:0', 'judge:0', 'offer:0', 'offer:1'])
      const ended = drive(resourceProviderMachine, input, [...toSubmitted, ev.accepted])
      const late = step(resourceProviderMachine, ended.snapshot, timer('judge:0', s.deal.judgeDeadline))
      expect(late.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'EARLY_TIMER' })])
    })
    test('a deal signed again is refused as a duplicate, under way or ended', () => {
      for (const before of [[ev.proposal, ev.deal], [...toSubmitted, ev.accepted]]) {
        const r = drive(resourceProviderMachine, input, before)
        const again = step(resourceProviderMachine, r.snapshot, received(s.halfSigned, T0 + 9))
        expect(again.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'DUPLICATE' })])
        expect(again.snapshot.context).toEqual(r.snapshot.context)
      }
    })
    test('offer expiry: a free slot is offered again with a new nonce', () => {
      const r = drive(resourceProviderMachine, input, [timer('offer:1', T0 + TTL)])
      expect(r.last).toEqual([expect.objectContaining({ type: 'message.publish', message: { ...s.offer, slot: 1, nonce: String(T0 + TTL), expiry: T0 + 2 * TTL } })])
    })
  })

  test.each([
    ['a deal with other collateral', [ev.proposal], () => {
      const d = { ...s.deal, resultsCollateral: '1' }
      return received(sign(parties.jobCreator, 'Deal', d), T0 + 2)
    }, 'INCONSISTENT'],
    ['a proposal for someone else\'s offer', [], () => {
      const o = scenario({ offer: resourceOffer({ nonce: '3' }) })
      return received(o.propEnv, T0 + 1, [o.jobEnv])
    }, 'WRONG_DEAL'],
    ['an acceptance by a stranger', toSubmitted, () => received(sign(parties.stranger, 'ResultsAccepted', { ...s.accepted.message, author: parties.stranger.address }), T0 + 4), 'WRONG_PARTY'],
    ['a run result for no deal', [], () => ({ ...ev.finished, effect: 'run:0x00' }), 'WRONG_DEAL']
  ] as const)('%s is rejected and changes nothing', (_, before, event, code) => {
    const r = drive(resourceProviderMachine, input, [...before])
    const after = step(resourceProviderMachine, r.snapshot, event())
    expect(after.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code })])
    expect(after.snapshot.context).toEqual(r.snapshot.context)
  })

  test('property: rejected inputs change nothing and a replay reproduces the run', () => {
    const events = fc.constantFrom<InputEvent>(
      ev.proposal, ev.deal, ev.finished, ev.accepted, ev.challenged, ev.verdict(true), ev.verdict(false),
      timer('judge:0', s.deal.judgeDeadline), timer('submit:0', s.deal.submitDeadline),
      timer('mediate:0', s.deal.mediateDeadline), timer('offer:0', T0 + TTL), { type: 'noise', at: T0 }
    )
    assertReplayProperty(resourceProviderMachine, input, events)
  })
})
