import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { InputEvent } from '../../../src/state-machines/contract.ts'
import { MAX_DEAL_LIFETIME_MS } from '../../../src/state-machines/deal-lifecycle.ts'
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
  prepared: { type: 'job.prepared', effect: `prepare:${s.dealId}`, ok: true, at: T0 + 2 } as InputEvent,
  funded: { type: 'chain.deposit', effect: `funds:${s.dealId}`, balance: '100000', withdrawing: '0', at: T0 + 2 } as InputEvent,
  finished: { type: 'job.finished', effect: `run:${s.dealId}`, resultsCid: s.cid, exitCode: 0, cpuMs: 5, durationMs: 9, at: T0 + 3 } as InputEvent,
  accepted: received(s.accepted, T0 + 4),
  challenged: received(s.challenged, T0 + 4),
  verdict: (fault: boolean) => received(s.verdict(fault), T0 + 5)
}
const signed = [ev.proposal, ev.deal, ev.prepared, ev.funded]
/** The checks before co-signing, passed, for another deal. */
const checksOf = (dealId: string, at: number): InputEvent[] => [{ ...ev.prepared, effect: `prepare:${dealId}`, at }, { ...ev.funded, effect: `funds:${dealId}`, at }]
const toSubmitted = [...signed, ev.finished]

/** The state a deal that ended was left in. */
const endedState = (c: ResourceProviderContext, dealId: string): string | undefined => c.endedDeals.find(d => d.dealId === dealId)?.state

describe('resource provider', () => {
  test('when the mediators it trusts change, it offers its free slots again naming them; a busy slot keeps its deal and names them once free', () => {
    const both = [parties.mediator.address, parties.otherMediator.address]
    const trusted = (mediators: unknown, at: number): InputEvent => ({ type: 'mediators.trusted', mediators, at } as InputEvent)
    const busy = drive(resourceProviderMachine, input, signed)
    const slot0 = busy.snapshot.context.slots[0]!
    expect(slot0.dealId).toBe(s.dealId)
    const r = step(resourceProviderMachine, busy.snapshot, trusted(both, T0 + 10))
    // slot 1 was free: offered again at once, with the new list; slot 0 holds its deal and its offer
    expect(r.outputs).toEqual([expect.objectContaining({ type: 'message.publish', messageType: 'ResourceOffer', message: expect.objectContaining({ slot: 1, trustedMediators: both, nonce: String(T0 + 10) }) })])
    expect(r.snapshot.context.slots[0]).toMatchObject({ dealId: s.dealId, offerId: slot0.offerId, terms: { trustedMediators: both } })
    expect(r.snapshot.context.deadlines['offer:1']).toBe(T0 + 10 + TTL)
    // the same list again changes nothing
    const again = step(resourceProviderMachine, r.snapshot, trusted(both, T0 + 11))
    expect(again.outputs).toEqual([])
    expect(again.snapshot.context).toEqual(r.snapshot.context)
    // once the deal ends, slot 0 is offered with the new list
    const done = drive(resourceProviderMachine, input, [...toSubmitted, trusted(both, T0 + 3), ev.accepted])
    expect(done.last.at(-1)).toMatchObject({ messageType: 'ResourceOffer', message: expect.objectContaining({ slot: 0, trustedMediators: both }) })
    // a list that is not one of addresses is refused
    for (const bad of [[], ['nobody'], 'x', Array.from({ length: 33 }, () => parties.mediator.address)]) {
      expect(step(resourceProviderMachine, busy.snapshot, trusted(bad, T0 + 12)).outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'INCONSISTENT' })])
    }
  })

  test('given slots, it publishes one offer per slot and arms their renewal', () => {
    const r = drive(resourceProviderMachine, input, [])
    expect(r.outputs.map(o => o.message)).toEqual([s.offer, { ...s.offer, slot: 1 }])
    expect(r.snapshot.context.deadlines).toEqual({ 'offer:0': T0 + TTL, 'offer:1': T0 + TTL })
  })

  test('when a proposal for its offer arrives, it holds it and starts the job ahead of the deal; nothing is signed yet', () => {
    const r = drive(resourceProviderMachine, input, [ev.proposal])
    expect(r.snapshot.context.proposals.map(p => p.id)).toEqual([idOf('MatchProposal', s.prop)])
    expect(r.last).toEqual([{ type: 'job.warm', id: `warm:${idOf('MatchProposal', s.prop)}`, job: s.job, until: s.prop.expiry }])
  })

  test('only the first live proposal for a slot starts its job ahead of the deal', () => {
    const sameSlot = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL }, job: { nonce: '2', agreeWithin: 20_000 }, proposal: { nonce: '8', expiry: T0 + 20_000 } })
    const otherSlot = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL, slot: 1 }, job: { nonce: '3' }, proposal: { nonce: '9' } })
    const first = drive(resourceProviderMachine, input, [ev.proposal])
    expect(step(resourceProviderMachine, first.snapshot, received(sameSlot.propEnv, T0 + 2, [sameSlot.jobEnv])).outputs).toEqual([])
    expect(step(resourceProviderMachine, first.snapshot, received(otherSlot.propEnv, T0 + 2, [otherSlot.jobEnv])).outputs)
      .toEqual([expect.objectContaining({ type: 'job.warm', job: otherSlot.job })])
    // once the first proposal expired, the next for its slot starts its own
    const later = step(resourceProviderMachine, first.snapshot, received(sameSlot.propEnv, s.prop.expiry + 1, [sameSlot.jobEnv]))
    expect(later.outputs).toEqual([expect.objectContaining({ type: 'job.warm', job: sameSlot.job, until: T0 + 20_000 })])
  })

  test('when the creator\'s signed deal matches the proposal and its offer, it co-signs and runs the job', () => {
    const r = drive(resourceProviderMachine, input, signed)
    expect(r.last).toEqual([
      expect.objectContaining({ type: 'message.send', id: `cosign:${s.dealId}`, messageType: 'Deal', message: s.deal, signatures: s.halfSigned.signatures }),
      expect.objectContaining({ type: 'job.run', id: `run:${s.dealId}`, purpose: 'execute', job: s.job })
    ])
    expect(r.snapshot.context.slots[0]!.dealId).toBe(s.dealId)
    expect(r.snapshot.context.deadlines['submit:0']).toBe(s.deal.submitDeadline)
    // the job offer went with the run: the deal under way keeps only what it is judged by
    expect(r.snapshot.context.deals[s.dealId]).not.toHaveProperty('jobOffer')
  })

  test('before co-signing it makes sure it can run the job and that the creator\'s free deposit covers the deal; it co-signs only when both hold', () => {
    const r = drive(resourceProviderMachine, input, [ev.proposal, ev.deal])
    expect(r.last).toEqual([
      { type: 'job.prepare', id: `prepare:${s.dealId}`, dealId: s.dealId, job: s.job, maxDurationMs: s.deal.submitDeadline - (T0 + 2) },
      { type: 'chain.readDeposit', id: `funds:${s.dealId}`, dealId: s.dealId, account: s.deal.jobCreator }
    ])
    expect(r.snapshot.context.deadlines['agree:0']).toBe(s.deal.agreeDeadline)
    const prepared = step(resourceProviderMachine, r.snapshot, ev.prepared)
    expect(prepared.outputs).toEqual([])
    const funded = step(resourceProviderMachine, prepared.snapshot, ev.funded)
    expect(funded.outputs.map(o => o.id)).toEqual([`cosign:${s.dealId}`, `run:${s.dealId}`])
    expect(funded.snapshot.context.deadlines['agree:0']).toBeUndefined()
  })

  test.each([
    ['a job it cannot run', { ...ev.prepared, ok: false, failure: 'ERR_SPEC_MISMATCH', reason: 'the spec differs' }],
    ['a creator whose deposit does not cover the deal', { ...ev.funded, balance: '2299' }],
    ['a creator whose deposit is asked to leave', { ...ev.funded, balance: '100000', withdrawing: '99000' }],
    ['a check that could not be made', { type: 'effect.failed', effect: `funds:${s.dealId}`, error: 'no chain', at: T0 + 2 }]
  ] as const)('it walks away from %s: nothing signed, the slot offered again', (_, event) => {
    const r = drive(resourceProviderMachine, input, [ev.proposal, ev.deal])
    const declined = step(resourceProviderMachine, r.snapshot, event as InputEvent)
    expect(declined.outputs.map(o => o.type)).toEqual(['deal.declined', 'message.publish'])
    expect(declined.snapshot.context.slots[0]!.dealId).toBeNull()
    expect(endedState(declined.snapshot.context, s.dealId)).toBe('TimeoutAgree')
    expect(step(resourceProviderMachine, declined.snapshot, ev.funded).outputs).toEqual([expect.objectContaining({ type: 'input.rejected' })])
  })

  test('checks that outlast the agree deadline end the deal unsigned', () => {
    const r = drive(resourceProviderMachine, input, [ev.proposal, ev.deal, ev.prepared])
    const lapsed = step(resourceProviderMachine, r.snapshot, timer('agree:0', s.deal.agreeDeadline))
    expect(lapsed.outputs.map(o => o.type)).toEqual(['deal.declined', 'message.publish'])
  })

  test('a deal that lasts longer than a deal may is refused before any check', () => {
    // each window within bounds, but a proposal that leaves a day to agree: the deal ends seven days after signing
    const day = 24 * 3600_000
    const long = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL, maxSubmitWithin: 2 * day }, job: { agreeWithin: 2 * day, submitWithin: 2 * day, judgeWithin: 2 * day, mediateWithin: 2 * day }, proposal: { expiry: T0 + day } })
    expect(long.deal.mediateDeadline - (T0 + 2)).toBeGreaterThan(MAX_DEAL_LIFETIME_MS)
    const patient = { ...input, slots: [{ ...slotTerms, maxSubmitWithin: 2 * day }] }
    const r = drive(resourceProviderMachine, patient, [received(long.propEnv, T0 + 1, [long.jobEnv])])
    expect(step(resourceProviderMachine, r.snapshot, received(long.halfSigned, T0 + 2)).outputs).toEqual([expect.objectContaining({ code: 'UNBOUNDED' })])
  })

  test('two deals with the same creator checked at once both count against its deposit', () => {
    const other = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL, slot: 1 }, job: { nonce: '2' }, proposal: { nonce: '8' } })
    const both = drive(resourceProviderMachine, input, [ev.proposal, ev.deal, received(other.propEnv, T0 + 3, [other.jobEnv]), received(other.halfSigned, T0 + 3), ev.prepared])
    expect(step(resourceProviderMachine, both.snapshot, { ...ev.funded, balance: '4000' }).outputs[0]).toMatchObject({ type: 'deal.declined' })
    expect(step(resourceProviderMachine, both.snapshot, { ...ev.funded, balance: '4600' }).outputs[0]).toMatchObject({ type: 'message.send', id: `cosign:${s.dealId}` })
  })

  test('open deals with the same creator count against its deposit', () => {
    const other = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL, slot: 1 }, job: { nonce: '2' }, proposal: { nonce: '8' } })
    const first = drive(resourceProviderMachine, input, [...signed, received(other.propEnv, T0 + 3, [other.jobEnv]), received(other.halfSigned, T0 + 3), { ...ev.prepared, effect: `prepare:${other.dealId}` }])
    // each deal locks 2300 of the creator's deposit: 4000 covers one, not two
    const short = step(resourceProviderMachine, first.snapshot, { ...ev.funded, effect: `funds:${other.dealId}`, balance: '4000' })
    expect(short.outputs[0]).toMatchObject({ type: 'deal.declined' })
    const enough = step(resourceProviderMachine, first.snapshot, { ...ev.funded, effect: `funds:${other.dealId}`, balance: '4600' })
    expect(enough.outputs[0]).toMatchObject({ type: 'message.send', id: `cosign:${other.dealId}` })
  })

  test('what the creator\'s deals with others lock counts against its deposit; its deals with us, as the provider counts them', () => {
    const checking = drive(resourceProviderMachine, input, [ev.proposal, ev.deal, ev.prepared])
    // the deal locks 2300: 100000 less 97701 locked with others leaves 2299
    expect(step(resourceProviderMachine, checking.snapshot, { ...ev.funded, lockedWithOthers: '97701' }).outputs[0]).toMatchObject({ type: 'deal.declined' })
    expect(step(resourceProviderMachine, checking.snapshot, { ...ev.funded, lockedWithOthers: '97700' }).outputs[0]).toMatchObject({ type: 'message.send', id: `cosign:${s.dealId}` })
    // what the node's book says of deals with us gives way to the provider's own count (none open here)
    expect(step(resourceProviderMachine, checking.snapshot, { ...ev.funded, lockedWithOthers: '97700', lockedWithUs: '5000' }).outputs[0]).toMatchObject({ type: 'message.send' })
  })

  test('it signs at most one deal per slot', () => {
    const other = scenario({ offer: { nonce: String(T0), expiry: T0 + TTL }, job: { nonce: '2' }, proposal: { nonce: '8' } })
    const r = drive(resourceProviderMachine, input, [ev.proposal, received(other.propEnv, T0 + 1, [other.jobEnv]), ev.deal])
    // the other proposal went with the slot: its deal is held as one that may have overtaken it, and never signed
    const second = step(resourceProviderMachine, r.snapshot, received(other.halfSigned, T0 + 2))
    expect(second.outputs).toEqual([])
    expect(second.snapshot.context.slots[0]!.dealId).toBe(s.dealId)
    const late = step(resourceProviderMachine, second.snapshot, received(other.propEnv, T0 + 3, [other.jobEnv]))
    expect(late.outputs).toEqual([expect.objectContaining({ code: 'NO_CAPACITY' })])
  })

  test('a deal that overtook its proposal is held in the log, and taken when the proposal comes', () => {
    const early = drive(resourceProviderMachine, input, [received(s.halfSigned, T0 + 1)])
    expect(early.last).toEqual([])
    expect(early.snapshot.context.earlyDeals).toEqual([{ matchProposalId: s.deal.matchProposalId, envelope: s.halfSigned, agreeDeadline: s.deal.agreeDeadline }])
    const taken = step(resourceProviderMachine, early.snapshot, received(s.propEnv, T0 + 2, [s.jobEnv]))
    expect(taken.outputs.map(o => o.type)).toEqual(['job.prepare', 'chain.readDeposit'])
    expect(taken.snapshot.context.earlyDeals).toEqual([])
    expect(taken.snapshot.context.slots[0]!.dealId).toBe(s.dealId)
    // the same deal again while held, or one held past its agree deadline, is refused
    expect(step(resourceProviderMachine, early.snapshot, received(s.halfSigned, T0 + 2)).outputs).toEqual([expect.objectContaining({ code: 'DUPLICATE' })])
    expect(step(resourceProviderMachine, drive(resourceProviderMachine, input, []).snapshot, received(s.halfSigned, s.deal.agreeDeadline + 1)).outputs)
      .toEqual([expect.objectContaining({ code: 'EXPIRED' })])
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
    expect(Object.keys(r.snapshot.context.endedDeals[0]!).sort()).toEqual(['deal', 'dealId', 'mediateDeadline', 'resultsCid', 'slot', 'state'])
    expect(r.snapshot.context.deals).toEqual({})
    expect(Object.keys(r.snapshot.context.deadlines).sort()).toEqual(['offer:0', 'offer:1'])
  })

  test('when challenged on the wire, it tells every mediator of the deal itself and posts the challenge on chain, and keeps its duties to commit and claim', () => {
    const r = drive(resourceProviderMachine, input, [...toSubmitted, ev.challenged])
    const challengeId = idOf('ResultsChallenged', s.challenged.message)
    expect(r.last).toEqual([
      { type: 'results.provide', id: `provide:${s.dealId}`, dealId: s.dealId, resultsCid: s.cid, to: [parties.mediator.address] },
      { type: 'message.forward', id: `forward:${s.dealId}`, message: challengeId, to: [parties.mediator.address], attach: [s.dealId, `results:${s.dealId}`, s.deal.jobOfferId] },
      { type: 'chain.challenge', id: `chain-challenge:${s.dealId}`, dealId: s.dealId, evidence: [s.dealId, challengeId, `results:${s.dealId}`] }
    ])
    const deadlines = r.snapshot.context.deadlines
    expect(deadlines['mediate:0']).toBe(s.deal.mediateDeadline)
    // a creator that never posts its challenge cannot claim TimeoutSubmit: the commitment still goes out
    expect(deadlines['commit:0']).toBeDefined()
    const commit = step(resourceProviderMachine, r.snapshot, timer('commit:0', deadlines['commit:0']!))
    expect(commit.outputs).toEqual([{ type: 'chain.commitResults', id: `commit:${s.dealId}`, dealId: s.dealId, resultsCid: s.cid }])
    // and at the judge deadline it claims, without giving the deal up: the chain says whether the challenge landed
    const judge = step(resourceProviderMachine, r.snapshot, timer('judge:0', s.deal.judgeDeadline))
    expect(judge.outputs).toEqual([expect.objectContaining({ type: 'chain.claim', claim: 'TimeoutJudge' })])
    expect(judge.snapshot.context.deals[s.dealId]?.state).toBe('Mediating')
    // a TimeoutMediate claim may follow it: every output of a stream has an id of its own
    const mediate = step(resourceProviderMachine, judge.snapshot, timer('mediate:0', s.deal.mediateDeadline))
    expect(mediate.outputs[0]).toMatchObject({ type: 'chain.claim', claim: 'TimeoutMediate' })
    expect(mediate.outputs[0]!.id).not.toBe(judge.outputs[0]!.id)
  })

  test('a challenge posted only on chain, read there by its overtaken judge claim, reaches the mediator, and a verdict for it is settled', () => {
    const claimed = drive(resourceProviderMachine, input, [...toSubmitted, timer('judge:0', s.deal.judgeDeadline)])
    expect(endedState(claimed.snapshot.context, s.dealId)).toBe('TimeoutJudge')
    const seen = step(resourceProviderMachine, claimed.snapshot, { type: 'chain.challenged', effect: `claim:${s.dealId}`, dealId: s.dealId, envelope: s.challenged as never, at: s.deal.judgeDeadline + 5 })
    expect(seen.outputs.map(o => o.type)).toEqual(['results.provide', 'message.forward'])
    expect(endedState(seen.snapshot.context, s.dealId)).toBe('Mediating')
    const won = step(resourceProviderMachine, seen.snapshot, received(s.verdict(false), s.deal.judgeDeadline + 10))
    expect(won.outputs).toEqual([expect.objectContaining({ type: 'chain.settle', outcome: 'MediationAccepted' })])
    const settled = step(resourceProviderMachine, won.snapshot, { type: 'chain.settled', effect: won.outputs[0]!.id, dealId: s.dealId, outcome: 'MediationAccepted', at: s.deal.judgeDeadline + 11 })
    expect(endedState(settled.snapshot.context, s.dealId)).toBe('MediationAccepted')
  })

  test('a challenge seen on chain for live results stops the duties the challenge made moot', () => {
    const r = drive(resourceProviderMachine, input, [...toSubmitted])
    const seen = step(resourceProviderMachine, r.snapshot, { type: 'chain.challenged', effect: 'x', dealId: s.dealId, envelope: s.challenged as never, at: T0 + 4 })
    expect(seen.outputs.map(o => o.type)).toEqual(['results.provide', 'message.forward'])
    expect(Object.keys(seen.snapshot.context.deadlines).filter(k => k.endsWith(':0') && !k.startsWith('offer'))).toEqual(['mediate:0'])
    const forged = { ...s.challenged, message: { ...s.challenged.message, resultsCid: 'bafyother' } }
    expect(step(resourceProviderMachine, r.snapshot, { type: 'chain.challenged', effect: 'x', dealId: s.dealId, envelope: forged as never, at: T0 + 4 }).outputs)
      .toEqual([expect.objectContaining({ type: 'input.rejected' })])
  })

  test('a verdict of a mediator of the deal is put on chain, and the slot is freed with the outcome the chain then holds', () => {
    for (const providerAtFault of [false, true]) {
      const outcome = providerAtFault ? 'MediationRejected' : 'MediationAccepted'
      const r = drive(resourceProviderMachine, input, [...toSubmitted, ev.challenged, ev.verdict(providerAtFault)])
      const verdictId = idOf('MediationVerdict', s.verdict(providerAtFault).message)
      expect(r.last).toEqual([{ type: 'chain.settle', id: `settle-verdict:${verdictId}`, dealId: s.dealId, outcome, evidence: [s.dealId, verdictId] }])
      expect(r.snapshot.context.deals[s.dealId]?.state).toBe('Mediating')
      // a verdict the chain refused (not its judge's) changes nothing
      const refused = step(resourceProviderMachine, r.snapshot, { type: 'effect.failed', effect: `settle-verdict:${verdictId}`, error: 'WRONG_AUTHOR', at: T0 + 9 })
      expect(refused.outputs).toEqual([])
      expect(refused.snapshot.context.deals[s.dealId]?.state).toBe('Mediating')
      const again = sign(parties.mediator, 'MediationVerdict', { ...s.verdict(!providerAtFault).message, nonce: '10' })
      expect(step(resourceProviderMachine, refused.snapshot, received(again, T0 + 10)).outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'DUPLICATE' })])
      const settled = step(resourceProviderMachine, r.snapshot, { type: 'chain.settled', effect: `settle-verdict:${verdictId}`, dealId: s.dealId, outcome, at: T0 + 9 })
      expect(settled.outputs.map(o => o.type)).toEqual(['message.publish'])
      expect(endedState(settled.snapshot.context, s.dealId)).toBe(outcome)
    }
    const byOutsider = drive(resourceProviderMachine, input, [...toSubmitted, ev.challenged])
    expect(step(resourceProviderMachine, byOutsider.snapshot, received(s.verdict(false, parties.otherMediator), T0 + 8)).outputs[0]).toMatchObject({ type: 'input.rejected', code: 'WRONG_PARTY' })
  })

  test('a verdict that overtakes the challenge it answers is put on chain all the same, and the deal ends with the outcome the chain then holds', () => {
    const r = drive(resourceProviderMachine, input, [...toSubmitted, ev.verdict(false)])
    const verdictId = idOf('MediationVerdict', s.verdict(false).message)
    expect(r.last).toEqual([{ type: 'chain.settle', id: `settle-verdict:${verdictId}`, dealId: s.dealId, outcome: 'MediationAccepted', evidence: [s.dealId, verdictId] }])
    // nothing changes until the chain says so: its judge deadline still stands, should no challenge come
    expect(r.snapshot.context.deals[s.dealId]?.state).toBe('ResultsSubmitted')
    expect(r.snapshot.context.deadlines['judge:0']).toBe(s.deal.judgeDeadline)
    // the challenge comes after: the mediation goes on, the verdict already on its way to the chain
    const challenged = step(resourceProviderMachine, r.snapshot, ev.challenged)
    expect(challenged.snapshot.context.deals[s.dealId]?.state).toBe('Mediating')
    const settled = step(resourceProviderMachine, challenged.snapshot, { type: 'chain.settled', effect: `settle-verdict:${verdictId}`, dealId: s.dealId, outcome: 'MediationAccepted', at: T0 + 9 })
    expect(endedState(settled.snapshot.context, s.dealId)).toBe('MediationAccepted')
    // the chain refused it (no challenge was ever posted): the deal is as it was
    const refused = step(resourceProviderMachine, r.snapshot, { type: 'effect.failed', effect: `settle-verdict:${verdictId}`, error: 'NOT_CHALLENGED', at: T0 + 9 })
    expect(refused.outputs).toEqual([])
    expect(refused.snapshot.context.deals[s.dealId]?.state).toBe('ResultsSubmitted')
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
      const r = drive(resourceProviderMachine, input, [...signed, timer('submit:0', s.deal.submitDeadline)])
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
      const running = drive(resourceProviderMachine, input, signed)
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
        received(other.propEnv, T0 + 5, [other.jobEnv]), received(other.halfSigned, T0 + 6), ...checksOf(other.dealId, T0 + 6),
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
      const otherSubmitted = [received(other.propEnv, T0 + 5, [other.jobEnv]), received(other.halfSigned, T0 + 6), ...checksOf(other.dealId, T0 + 6), { ...ev.finished, effect: `run:${other.dealId}`, at: T0 + 7 }]
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
      for (const before of [signed, [...toSubmitted, ev.accepted]]) {
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
      ev.proposal, ev.deal, ev.prepared, ev.funded, ev.finished, ev.accepted, ev.challenged, ev.verdict(true), ev.verdict(false),
      timer('judge:0', s.deal.judgeDeadline), timer('submit:0', s.deal.submitDeadline),
      timer('mediate:0', s.deal.mediateDeadline), timer('offer:0', T0 + TTL), { type: 'noise', at: T0 }
    )
    assertReplayProperty(resourceProviderMachine, input, events)
  })
})
