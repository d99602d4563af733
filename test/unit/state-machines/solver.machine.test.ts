import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { InputEvent } from '../../../src/state-machines/contract.ts'
import { solverMachine } from '../../../src/state-machines/solver.machine.ts'
import { step } from '../../../src/state-machines/step.ts'
import { domainJson, drive, idOf, jobOffer, parties, received, resourceOffer, scenario, sign, T0, timer } from './fixtures.ts'
import { assertReplayProperty } from './replay-property.ts'

const input = { domain: domainJson, self: parties.solver.address, solverFee: '5', mediatorFee: '50', batchDelayMs: 100, at: T0 }
const job = jobOffer()
const jobB = jobOffer({ nonce: '2' })
const cheap = resourceOffer({ price: '500' })
const dear = resourceOffer({ price: '900', slot: 1 })
const env = {
  job: sign(parties.jobCreator, 'JobOffer', job),
  jobB: sign(parties.jobCreator, 'JobOffer', jobB),
  cheap: sign(parties.resourceProvider, 'ResourceOffer', cheap),
  dear: sign(parties.resourceProvider, 'ResourceOffer', dear)
}
const round = (at: number) => timer('matchRound', at)

describe('solver', () => {
  test('given a job and offers, it arms one match round a batch delay after the first of them', () => {
    const r = drive(solverMachine, input, [received(env.job, T0), received(env.cheap, T0 + 30), received(env.dear, T0 + 60)])
    expect(r.snapshot.context.deadlines).toEqual({ matchRound: T0 + 100 })
    expect(r.outputs).toEqual([])
  })

  test('with no batch delay, the step that brings a job, or an offer for a waiting job, matches it: no timer', () => {
    const now = { ...input, batchDelayMs: 0 }
    const r = drive(solverMachine, now, [received(env.dear, T0), received(env.cheap, T0), received(env.job, T0 + 5)])
    expect(r.last).toEqual([expect.objectContaining({ messageType: 'MatchProposal', message: expect.objectContaining({ price: '500', nonce: String(T0 + 5), expiry: T0 + 5 + 10_000 }) })])
    expect(r.snapshot.context.deadlines).toEqual({ matchRound: T0 + 5 + 10_000 + 1 })
    // an offer while no job waits matches nothing and arms nothing; the job that comes after it is matched with it
    const offerFirst = drive(solverMachine, now, [received(env.cheap, T0)])
    expect(offerFirst.outputs).toEqual([])
    expect(offerFirst.snapshot.context.deadlines).toEqual({})
    const jobFirst = drive(solverMachine, now, [received(env.job, T0), received(env.cheap, T0 + 7)])
    expect(jobFirst.last).toEqual([expect.objectContaining({ messageType: 'MatchProposal', message: expect.objectContaining({ nonce: String(T0 + 7) }) })])
    // a second job while the only offer is held waits for the proposal's expiry, as with a delay
    const held = drive(solverMachine, now, [received(env.cheap, T0), received(env.job, T0), received(env.jobB, T0 + 10)])
    expect(held.last).toEqual([])
    expect(held.snapshot.context.deadlines).toEqual({ matchRound: T0 + 10_000 + 1 })
  })

  test('an offer arms no round while no job waits: the next job arms it', () => {
    const offersOnly = drive(solverMachine, input, [received(env.cheap, T0)])
    expect(offersOnly.snapshot.context.deadlines).toEqual({})
    const r = drive(solverMachine, input, [received(env.cheap, T0), received(env.job, T0 + 30)])
    expect(r.snapshot.context.deadlines).toEqual({ matchRound: T0 + 130 })
  })

  test('an offer arriving while every job is held by a proposal leaves the round armed for their return', () => {
    const r = drive(solverMachine, input, [received(env.cheap, T0), received(env.job, T0), round(T0 + 100), received(env.dear, T0 + 200)])
    expect(r.snapshot.context.deadlines).toEqual({ matchRound: T0 + 100 + 10_000 + 1 })
  })

  test('when the round fires, it proposes the cheapest matching offer to both parties, with the offers attached', () => {
    const r = drive(solverMachine, input, [received(env.dear, T0), received(env.cheap, T0), received(env.job, T0), round(T0 + 100)])
    expect(r.last).toEqual([expect.objectContaining({
      type: 'message.send', messageType: 'MatchProposal', to: [parties.jobCreator.address, parties.resourceProvider.address],
      attach: [idOf('JobOffer', job), idOf('ResourceOffer', cheap)],
      message: expect.objectContaining({ price: '500', solverFee: '5', mediatorFee: '50', mediators: [parties.mediator.address], expiry: T0 + 100 + 10_000 })
    })])
  })

  test('a job that asks for 2 verdicts is proposed only with 2 mediators both parties trust, each paid the fee', () => {
    const both = [parties.mediator.address, parties.otherMediator.address]
    const asking = sign(parties.jobCreator, 'JobOffer', jobOffer({ nonce: '4', quorum: 2, trustedMediators: both }))
    // the cheap offer trusts one of them: a deal with it could never reach 2 verdicts
    const r = drive(solverMachine, input, [received(env.cheap, T0), received(asking, T0), round(T0 + 100)])
    expect(r.last).toEqual([])
    const trusting = sign(parties.resourceProvider, 'ResourceOffer', resourceOffer({ price: '700', slot: 2, trustedMediators: both }))
    const q = drive(solverMachine, input, [received(env.cheap, T0), received(trusting, T0), received(asking, T0), round(T0 + 100)])
    expect(q.last).toEqual([expect.objectContaining({ message: expect.objectContaining({ price: '700', mediatorFee: '100', mediators: both }) })])
  })

  test('the proposal gives the parties the agree window the job offer asks for, and holds its offer that long', () => {
    const patient = jobOffer({ nonce: '3', agreeWithin: 45_000 })
    const r = drive(solverMachine, input, [received(env.cheap, T0), received(sign(parties.jobCreator, 'JobOffer', patient), T0), round(T0 + 100)])
    expect(r.last).toEqual([expect.objectContaining({ message: expect.objectContaining({ expiry: T0 + 100 + 45_000 }) })])
    expect(r.snapshot.context.offers[0]?.heldUntil).toBe(T0 + 100 + 45_000)
  })

  test('an offer with a proposal out is not proposed again until that proposal expires', () => {
    const r = drive(solverMachine, input, [received(env.cheap, T0), received(env.job, T0), round(T0 + 100), received(env.jobB, T0 + 200), round(T0 + 300)])
    expect(r.last).toEqual([])
    expect(r.snapshot.context.deadlines.matchRound).toBe(T0 + 100 + 10_000 + 1)
    const busy = step(solverMachine, r.snapshot, round(T0 + 10_100))
    expect(busy.outputs.filter(o => o.type === 'message.send')).toEqual([])
    const again = step(solverMachine, r.snapshot, round(T0 + 10_101))
    expect(again.outputs.map(o => (o.attach as string[])[0])).toEqual([idOf('JobOffer', job)])
  })

  test('a job that arrives while a proposal is out is matched a batch delay later, not when that proposal expires', () => {
    const r = drive(solverMachine, input, [received(env.cheap, T0), received(env.dear, T0), received(env.job, T0), round(T0 + 100), received(env.jobB, T0 + 200)])
    expect(r.snapshot.context.deadlines.matchRound).toBe(T0 + 300)
    const next = step(solverMachine, r.snapshot, round(T0 + 300))
    expect(next.outputs.map(o => o.attach)).toEqual([[idOf('JobOffer', jobB), idOf('ResourceOffer', dear)]])
  })

  test('an agreed deal takes its offers out of the book', () => {
    const sc = scenario()
    const r = drive(solverMachine, input, [received(sc.offerEnv, T0), received(sc.jobEnv, T0), received(sc.dealEnv, T0 + 1)])
    expect(r.snapshot.context.offers).toEqual([])
    expect(r.snapshot.context.jobs).toEqual([])
  })

  test('expired offers and jobs are dropped at the next round', () => {
    const shortOffer = sign(parties.resourceProvider, 'ResourceOffer', resourceOffer({ expiry: T0 + 50 }))
    const r = drive(solverMachine, input, [received(shortOffer, T0), received(env.job, T0), round(T0 + 100)])
    expect(r.snapshot.context.offers).toEqual([])
    expect(r.last).toEqual([])
  })

  test('offers that do not accept this solver are left out', () => {
    const other = sign(parties.resourceProvider, 'ResourceOffer', resourceOffer({ trustedSolvers: [parties.stranger.address] }))
    const r = drive(solverMachine, input, [received(other, T0)])
    expect(r.snapshot.context.offers).toEqual([])
  })

  test('a newer offer for the same slot replaces the older', () => {
    const newer = sign(parties.resourceProvider, 'ResourceOffer', { ...cheap, nonce: '2', price: '600' })
    const r = drive(solverMachine, input, [received(env.cheap, T0), received(newer, T0 + 1)])
    expect(r.snapshot.context.offers.map(o => o.id)).toEqual([idOf('ResourceOffer', { ...cheap, nonce: '2', price: '600' })])
  })

  test.each([
    ['a duplicate offer', [received(env.cheap, T0)], () => received(env.cheap, T0 + 1), 'DUPLICATE'],
    ['a forged offer', [], () => received({ ...env.cheap, message: { ...cheap, price: '1' } }, T0), 'WRONG_SIGNER'],
    ['a job past its match deadline', [], () => received(env.job, job.matchDeadline + 1), 'EXPIRED'],
    ['an early round', [received(env.cheap, T0)], () => round(T0 + 99), 'EARLY_TIMER'],
    ['results, which a solver does not take', [], () => ({ type: 'message.received', at: T0, envelope: { type: 'ResultsAccepted' } } as InputEvent), 'WRONG_STATE']
  ] as const)('%s is rejected and changes nothing', (_, before, event, code) => {
    const r = drive(solverMachine, input, [...before])
    const after = step(solverMachine, r.snapshot, event())
    expect(after.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code })])
    expect(after.snapshot.context).toEqual(r.snapshot.context)
  })

  test('property: rejected inputs change nothing and a replay reproduces the run', () => {
    const events = fc.oneof(
      fc.constantFrom<InputEvent>(received(env.cheap, T0), received(env.dear, T0 + 1), received(env.job, T0 + 2), received(env.jobB, T0 + 3), { type: 'noise', at: T0 }),
      fc.integer({ min: 0, max: 30_000 }).map(d => round(T0 + d))
    )
    assertReplayProperty(solverMachine, input, events)
  })
})

describe('solver book limits', () => {
  const small = { ...input, book: { maxOffers: 3, maxJobs: 2, maxPerAuthor: 2 } }
  const refusal = (events: InputEvent[], last: InputEvent) => {
    const r = drive(solverMachine, small, events)
    const next = step(solverMachine, r.snapshot, last)
    return { before: r.snapshot, next }
  }

  test('refuses one author\'s offers past its share, and any offer past the book\'s size', () => {
    const slots = [0, 1, 2].map(slot => sign(parties.resourceProvider, 'ResourceOffer', resourceOffer({ slot })))
    const { before, next } = refusal([received(slots[0]!, T0), received(slots[1]!, T0)], received(slots[2]!, T0))
    expect(next.outputs).toMatchObject([{ type: 'input.rejected', code: 'NO_CAPACITY' }])
    expect(next.snapshot.context).toBe(before.context)
    // a newer offer for a slot already held replaces it, within the share
    const newer = sign(parties.resourceProvider, 'ResourceOffer', resourceOffer({ slot: 1, nonce: '9' }))
    expect(step(solverMachine, before, received(newer, T0)).snapshot.context.offers).toHaveLength(2)
    const others = [parties.stranger, parties.mediator].map(w => sign(w, 'ResourceOffer', resourceOffer({ author: w.address })))
    const full = refusal([received(slots[0]!, T0), received(slots[1]!, T0), received(others[0]!, T0)], received(others[1]!, T0))
    expect(full.next.outputs).toMatchObject([{ type: 'input.rejected', code: 'NO_CAPACITY' }])
    // once offers expire, they make room
    const later = step(solverMachine, full.before, received(sign(parties.mediator, 'ResourceOffer', resourceOffer({ author: parties.mediator.address, nonce: '2', expiry: T0 + 10 * 60_000 })), cheap.expiry + 1))
    expect(later.outputs).toEqual([])
    expect(later.snapshot.context.offers.map(o => o.author)).toEqual([parties.mediator.address])
  })

  test('refuses one author\'s jobs past its share, and any job past the book\'s size', () => {
    const jobs = ['1', '2', '3'].map(nonce => sign(parties.jobCreator, 'JobOffer', jobOffer({ nonce })))
    const { next } = refusal([received(jobs[0]!, T0), received(jobs[1]!, T0)], received(jobs[2]!, T0))
    expect(next.outputs).toMatchObject([{ type: 'input.rejected', code: 'NO_CAPACITY' }])
    const stranger = sign(parties.stranger, 'JobOffer', jobOffer({ author: parties.stranger.address }))
    const full = refusal([received(jobs[0]!, T0), received(jobs[1]!, T0)], received(stranger, T0))
    expect(full.next.outputs).toMatchObject([{ type: 'input.rejected', code: 'NO_CAPACITY' }])
  })
})
