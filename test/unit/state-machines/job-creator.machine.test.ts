import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { checkDraw, shouldCheck } from '../../../src/state-machines/check-decision.ts'
import type { InputEvent } from '../../../src/state-machines/contract.ts'
import { AGREE_GRACE_MS, jobCreatorMachine } from '../../../src/state-machines/job-creator.machine.ts'
import { resultsCidHash, settleGuardAt } from '../../../src/state-machines/deal-lifecycle.ts'
import { start, step } from '../../../src/state-machines/step.ts'
import { domainJson, drive, idOf, parties, received, scenario, sign, T0, timer } from './fixtures.ts'
import { assertReplayProperty } from './replay-property.ts'

const s = scenario()
const SECRET = '0x' + '5e'.repeat(32)
const input = (checkRate: number, job = s.job) => ({ domain: domainJson, job, secret: SECRET, checkRate, at: T0 })

const ev = {
  proposal: received(s.propEnv, T0 + 1, [s.offerEnv]),
  deal: received(s.dealEnv, T0 + 2),
  results: received(s.results, T0 + 3),
  fetched: (ok: boolean): InputEvent => ({ type: 'results.fetched', effect: `fetch:${s.dealId}`, ok, at: T0 + 4 }),
  verified: (cid: string): InputEvent => ({ type: 'job.finished', effect: `verify:${s.dealId}`, resultsCid: cid, at: T0 + 5 }),
  verdict: (fault: boolean) => received(s.verdict(fault), T0 + 6),
  /** the chain's record, read before a challenge */
  beforeChallenge: (state: string, extra: Record<string, unknown> = {}): InputEvent => ({ type: 'chain.observed', effect: `before-challenge:${s.dealId}`, dealId: s.dealId, state, ...extra, at: T0 + 5 })
}
const notCommitted = ev.beforeChallenge('JobOffered')
const toResults = [ev.proposal, ev.deal, ev.results]

function deposit (balance: string, withdrawing = '0'): InputEvent {
  return { type: 'chain.deposit', effect: `funds:${s.dealId}`, account: parties.resourceProvider.address, balance, withdrawing, at: T0 + 2 }
}

describe('job creator', () => {
  test('given a job, it publishes the offer and waits for a match', () => {
    const r = start(jobCreatorMachine, input(0))
    expect(r.outputs).toEqual([expect.objectContaining({ type: 'message.publish', messageType: 'JobOffer', message: s.job })])
    expect(r.snapshot.context).toMatchObject({ phase: 'offering', deadlines: { matchDeadline: s.job.matchDeadline } })
  })

  test('when a valid match arrives, it reads the provider\'s deposit, then signs the deal those terms make and sends it to the provider', () => {
    const r = drive(jobCreatorMachine, input(0), [ev.proposal])
    expect(r.snapshot.context).toMatchObject({ phase: 'agreeing', dealId: s.dealId, deadlines: { agreeDeadline: s.deal.agreeDeadline + AGREE_GRACE_MS } })
    expect(r.last).toEqual([{ type: 'chain.readDeposit', id: `funds:${s.dealId}`, dealId: s.dealId, account: parties.resourceProvider.address }])
    // the provider locks 1500 + 400
    const funded = step(jobCreatorMachine, r.snapshot, deposit('1900'))
    expect(step(jobCreatorMachine, r.snapshot, { ...deposit('100000'), lockedWithOthers: '50000', lockedWithUs: '48100' }).outputs).toEqual(funded.outputs)
    expect(funded.outputs).toEqual([expect.objectContaining({ type: 'message.send', id: `sign-deal:${s.dealId}`, messageType: 'Deal', message: s.deal, to: [parties.resourceProvider.address] })])
  })

  test.each([
    ['a provider whose free deposit does not cover its collateral', deposit('1899')],
    ['a provider whose deposit is asked to leave', deposit('100000', '99000')],
    ['a provider whose open deals with others lock its deposit', { ...deposit('100000'), lockedWithOthers: '98101' }],
    ['a provider whose open deals with us and others lock its deposit', { ...deposit('100000'), lockedWithOthers: '50000', lockedWithUs: '48101' }],
    ['a provider whose deposit cannot be read', { type: 'effect.failed', effect: `funds:${s.dealId}`, error: 'no chain', at: T0 + 2 } as InputEvent]
  ])('it signs nothing with %s, and takes another match', (_, event) => {
    const r = drive(jobCreatorMachine, input(0), [ev.proposal])
    const declined = step(jobCreatorMachine, r.snapshot, event)
    expect(declined.outputs).toEqual([expect.objectContaining({ type: 'deal.declined', dealId: s.dealId })])
    expect(declined.snapshot.context).toMatchObject({ phase: 'offering', dealId: null, failedDeals: [s.dealId] })
    const other = scenario({ proposal: { nonce: '8' } })
    expect(step(jobCreatorMachine, declined.snapshot, received(other.propEnv, T0 + 3, [other.offerEnv])).snapshot.context.phase).toBe('agreeing')
  })

  test('called off while offering, it ends with nothing locked and takes no match after; once agreeing, the cancel is refused', () => {
    const cancel: InputEvent = { type: 'job.cancel', at: T0 + 1 }
    const cancelled = drive(jobCreatorMachine, input(0), [cancel])
    expect(cancelled.snapshot.context).toMatchObject({ phase: 'done', outcome: 'TimeoutMatch', cancelled: true, deadlines: {} })
    expect(cancelled.last).toEqual([])
    expect(step(jobCreatorMachine, cancelled.snapshot, ev.proposal).outputs[0]).toMatchObject({ type: 'input.rejected', code: 'WRONG_STATE' })
    const agreeing = drive(jobCreatorMachine, input(0), [ev.proposal])
    const late = step(jobCreatorMachine, agreeing.snapshot, { ...cancel, at: T0 + 2 })
    expect(late.outputs[0]).toMatchObject({ type: 'input.rejected', code: 'WRONG_STATE' })
    expect(late.snapshot.context).toMatchObject({ phase: 'agreeing', dealId: s.dealId })
  })

  test('it takes the first valid match only', () => {
    const other = scenario({ proposal: { nonce: '8' } })
    const r = drive(jobCreatorMachine, input(0), [ev.proposal])
    const second = step(jobCreatorMachine, r.snapshot, received(other.propEnv, T0 + 2, [other.offerEnv]))
    expect(second.outputs[0]).toMatchObject({ type: 'input.rejected', code: 'WRONG_STATE' })
  })

  test('when the counter-signed deal arrives, it waits for results until the submit deadline', () => {
    const r = drive(jobCreatorMachine, input(0), [ev.proposal, ev.deal])
    expect(r.snapshot.context).toMatchObject({ phase: 'awaitingResults', deadlines: { submitDeadline: s.deal.submitDeadline } })
  })

  test('when results arrive, it fetches them', () => {
    const r = drive(jobCreatorMachine, input(0), toResults)
    expect(r.last).toEqual([{ type: 'results.fetch', id: `fetch:${s.dealId}`, dealId: s.dealId, resultsCid: s.cid, from: parties.resourceProvider.address }])
    expect(r.snapshot.context.deadlines).toEqual({ judgeDeadline: s.deal.judgeDeadline })
  })

  test('with p = 0, fetched results are accepted without a check', () => {
    const r = drive(jobCreatorMachine, input(0), [...toResults, ev.fetched(true)])
    expect(r.snapshot.context).toMatchObject({ phase: 'done', outcome: 'Accepted', checked: false })
    expect(r.last).toEqual([expect.objectContaining({ type: 'message.send', messageType: 'ResultsAccepted', message: expect.objectContaining({ dealId: s.dealId, resultsCid: s.cid }) })])
  })

  test('after accepting, it looks at the chain between the submit and judge deadlines and settles its acceptance itself if the provider committed', () => {
    const r = drive(jobCreatorMachine, input(0), [...toResults, ev.fetched(true)])
    const guard = settleGuardAt(s.deal)
    expect(guard).toBeGreaterThan(s.deal.submitDeadline)
    expect(guard).toBeLessThan(s.deal.judgeDeadline)
    expect(r.snapshot.context.deadlines).toEqual({ settleGuard: guard })
    const watch = step(jobCreatorMachine, r.snapshot, timer('settleGuard', guard))
    expect(watch.outputs).toEqual([{ type: 'chain.watch', id: `watch:${s.dealId}`, dealId: s.dealId }])
    const observed = (state: string, outcome?: string, cidHash?: string): InputEvent => ({
      type: 'chain.observed', effect: `watch:${s.dealId}`, dealId: s.dealId, state, ...(outcome === undefined ? {} : { outcome }), ...(cidHash === undefined ? {} : { resultsCidHash: cidHash }), at: guard + 1
    })
    // a commitment on chain: a provider that took the acceptance could still claim TimeoutJudge
    expect(step(jobCreatorMachine, watch.snapshot, observed('ResultsSubmitted')).outputs)
      .toEqual([{ type: 'chain.settle', id: `settle:${s.dealId}`, dealId: s.dealId, outcome: 'Accepted', evidence: [s.dealId, `accept:${s.dealId}`] }])
    expect(step(jobCreatorMachine, watch.snapshot, observed('ResultsSubmitted', undefined, resultsCidHash(s.cid))).outputs)
      .toEqual([expect.objectContaining({ type: 'chain.settle', outcome: 'Accepted' })])
    // a commitment of other results than those accepted: the provider signed two CIDs for one deal
    const equivocated = step(jobCreatorMachine, watch.snapshot, observed('ResultsSubmitted', undefined, resultsCidHash(s.otherCid)))
    expect(equivocated.outputs.map(o => o.type)).toEqual(['message.send', 'chain.challenge'])
    expect(equivocated.outputs[0]).toMatchObject({ messageType: 'ResultsChallenged', to: [parties.resourceProvider.address], message: expect.objectContaining({ resultsCid: s.cid }) })
    // nothing on chain: nothing can be claimed against the acceptance any more
    expect(step(jobCreatorMachine, watch.snapshot, observed('JobOffered')).outputs).toEqual([])
    expect(step(jobCreatorMachine, watch.snapshot, observed('Settled', 'Accepted')).snapshot.context.outcome).toBe('Accepted')
  })

  test('results the provider committed on chain and never sent, met by its TimeoutSubmit claim, are fetched and judged', () => {
    const r = drive(jobCreatorMachine, input(0), [ev.proposal, ev.deal, timer('submitDeadline', s.deal.submitDeadline)])
    expect(r.last).toEqual([expect.objectContaining({ type: 'chain.claim', claim: 'TimeoutSubmit' })])
    const committed = step(jobCreatorMachine, r.snapshot, { type: 'chain.committed', effect: `claim:${s.dealId}`, dealId: s.dealId, envelope: s.results as never, at: s.deal.submitDeadline + 2 })
    expect(committed.snapshot.context).toMatchObject({ phase: 'fetching', resultsCid: s.cid, outcome: null, deadlines: { judgeDeadline: s.deal.judgeDeadline } })
    expect(committed.outputs).toEqual([expect.objectContaining({ type: 'results.fetch', resultsCid: s.cid })])
    const forged = sign(parties.stranger, 'ResultsSubmitted', { ...s.results.message, author: parties.stranger.address })
    expect(step(jobCreatorMachine, r.snapshot, { type: 'chain.committed', effect: 'x', dealId: s.dealId, envelope: forged as never, at: s.deal.submitDeadline + 2 }).outputs)
      .toEqual([expect.objectContaining({ type: 'input.rejected', code: 'WRONG_PARTY' })])
  })

  test('a check that could not run the job here (no engine, no GPU) is asked of the mediator: the creator challenges, it does not accept unchecked', () => {
    for (const failure of ['ERR_ENGINE_UNAVAILABLE', 'ERR_GPU_UNAVAILABLE']) {
      const r = drive(jobCreatorMachine, input(1), [...toResults, ev.fetched(true), { ...ev.verified('bafy-failed-run'), failure }])
      expect(r.snapshot.context).toMatchObject({ phase: 'verifying', checked: true })
      expect(r.last).toEqual([{ type: 'chain.watch', id: `before-challenge:${s.dealId}`, dealId: s.dealId }])
      const challenged = step(jobCreatorMachine, r.snapshot, notCommitted)
      expect(challenged.snapshot.context).toMatchObject({ phase: 'challenged' })
      expect(challenged.outputs[0]).toMatchObject({ messageType: 'ResultsChallenged', to: [parties.resourceProvider.address, parties.mediator.address], message: expect.objectContaining({ resultsCid: s.cid }) })
    }
    // a run that failed for the job's own reason judges: the same failure here accepts, another CID challenges
    const same = drive(jobCreatorMachine, input(1), [...toResults, ev.fetched(true), { ...ev.verified(s.cid), failure: 'ERR_GPU_UNAVAILABLE' }])
    expect(same.snapshot.context).toMatchObject({ phase: 'done', outcome: 'Accepted', checked: true })
  })

  test('with p = 1, it re-runs the job and accepts matching results', () => {
    const r = drive(jobCreatorMachine, input(1), [...toResults, ev.fetched(true)])
    expect(r.last).toEqual([expect.objectContaining({ type: 'job.run', id: `verify:${s.dealId}`, purpose: 'verify' })])
    const done = drive(jobCreatorMachine, input(1), [...toResults, ev.fetched(true), ev.verified(s.cid)])
    expect(done.snapshot.context).toMatchObject({ outcome: 'Accepted', checked: true })
  })

  test('when its check disagrees, it tells the provider and every mediator of the deal, and posts the challenge on chain, which draws the judge', () => {
    const r = drive(jobCreatorMachine, input(1), [...toResults, ev.fetched(true), ev.verified(s.otherCid), notCommitted])
    expect(r.snapshot.context).toMatchObject({ phase: 'challenged', deadlines: { mediateDeadline: s.deal.mediateDeadline } })
    expect(r.last.map(o => o.type)).toEqual(['message.send', 'chain.challenge'])
    expect(r.last[0]).toMatchObject({ messageType: 'ResultsChallenged', to: [parties.resourceProvider.address, parties.mediator.address] })
    expect(r.last[0]!.message).not.toHaveProperty('mediator')
    const mediators = [parties.mediator.address, parties.otherMediator.address]
    const two = scenario({ offer: { trustedMediators: mediators }, proposal: { mediators } })
    const toTwo = drive(jobCreatorMachine, input(0, two.job), [
      received(two.propEnv, T0 + 1, [two.offerEnv]), received(two.dealEnv, T0 + 2), received(two.results, T0 + 3),
      { type: 'results.fetched', effect: `fetch:${two.dealId}`, ok: false, at: T0 + 4 },
      { type: 'chain.observed', effect: `before-challenge:${two.dealId}`, dealId: two.dealId, state: 'JobOffered', at: T0 + 5 }
    ])
    expect(toTwo.last[0]).toMatchObject({ to: [parties.resourceProvider.address, ...mediators] })
  })

  test('before it challenges, it reads the deal on chain: a commitment of other results is an equivocation, told to the provider only', () => {
    const read = drive(jobCreatorMachine, input(1), [...toResults, ev.fetched(true), ev.verified(s.otherCid)])
    expect(read.last).toEqual([{ type: 'chain.watch', id: `before-challenge:${s.dealId}`, dealId: s.dealId }])
    const equivocated = step(jobCreatorMachine, read.snapshot, ev.beforeChallenge('ResultsSubmitted', { resultsCidHash: resultsCidHash(s.otherCid) }))
    expect(equivocated.outputs.map(o => o.type)).toEqual(['message.send', 'chain.challenge'])
    expect(equivocated.outputs[0]).toMatchObject({ messageType: 'ResultsChallenged', to: [parties.resourceProvider.address] })
    expect(equivocated.outputs[1]).toMatchObject({ evidence: [s.dealId, `challenge:${s.dealId}`, expect.stringMatching(/^0x[0-9a-f]{64}$/)] })
    // the same results committed: the mediator decides
    const same = step(jobCreatorMachine, read.snapshot, ev.beforeChallenge('ResultsSubmitted', { resultsCidHash: resultsCidHash(s.cid) }))
    expect(same.outputs[0]).toMatchObject({ to: [parties.resourceProvider.address, parties.mediator.address] })
    // the chain cannot be read: the mediator decides
    const failed = step(jobCreatorMachine, read.snapshot, { type: 'effect.failed', effect: `before-challenge:${s.dealId}`, error: 'CHAIN_UNAVAILABLE', at: T0 + 5 })
    expect(failed.outputs[0]).toMatchObject({ to: [parties.resourceProvider.address, parties.mediator.address] })
    // settled already: nothing to challenge
    const settled = step(jobCreatorMachine, read.snapshot, ev.beforeChallenge('Settled', { outcome: 'MediationRejected' }))
    expect(settled.outputs).toEqual([])
    expect(settled.snapshot.context).toMatchObject({ phase: 'done', outcome: 'MediationRejected' })
  })

  test('results that cannot be fetched are challenged', () => {
    const r = drive(jobCreatorMachine, input(0), [...toResults, ev.fetched(false), notCommitted])
    expect(r.snapshot.context.phase).toBe('challenged')
  })

  test('a verdict of a mediator of the deal is put on chain, and the job ends with the outcome the chain then holds', () => {
    for (const providerAtFault of [true, false]) {
      const outcome = providerAtFault ? 'MediationRejected' : 'MediationAccepted'
      const r = drive(jobCreatorMachine, input(0), [...toResults, ev.fetched(false), notCommitted, ev.verdict(providerAtFault)])
      expect(r.snapshot.context).toMatchObject({ phase: 'challenged', outcome: null })
      const verdictId = idOf('MediationVerdict', s.verdict(providerAtFault).message)
      expect(r.last).toEqual([{ type: 'chain.settle', id: `settle-verdict:${verdictId}`, dealId: s.dealId, outcome, evidence: [s.dealId, verdictId] }])
      const settled = step(jobCreatorMachine, r.snapshot, { type: 'chain.settled', effect: `settle-verdict:${verdictId}`, dealId: s.dealId, outcome, at: T0 + 9 })
      expect(settled.snapshot.context).toMatchObject({ phase: 'done', outcome })
      // a verdict the chain refused (not its judge's) changes nothing: the judge's own, or the mediate deadline, decides
      const refused = step(jobCreatorMachine, r.snapshot, { type: 'effect.failed', effect: `settle-verdict:${verdictId}`, error: 'WRONG_AUTHOR', at: T0 + 9 })
      expect(refused.outputs).toEqual([])
      expect(refused.snapshot.context).toMatchObject({ phase: 'challenged', deadlines: { mediateDeadline: s.deal.mediateDeadline } })
      // one verdict a mediator: another one signed anew by the same mediator is not put on chain again
      const again = sign(parties.mediator, 'MediationVerdict', { ...s.verdict(!providerAtFault).message, nonce: '10' })
      expect(step(jobCreatorMachine, refused.snapshot, received(again, T0 + 10)).outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'DUPLICATE' })])
    }
    // a verdict by someone who is not a mediator of the deal is refused outright
    const outsider = received(s.verdict(true, parties.otherMediator), T0 + 8)
    const r = drive(jobCreatorMachine, input(0), [...toResults, ev.fetched(false), notCommitted])
    expect(step(jobCreatorMachine, r.snapshot, outsider).outputs[0]).toMatchObject({ type: 'input.rejected', code: 'WRONG_PARTY' })
  })

  describe('a deal it signed whose co-signature never came', () => {
    const graceOver = s.deal.agreeDeadline + AGREE_GRACE_MS
    const watchAt = settleGuardAt(s.deal)
    const signedThenLapsed = (): ReturnType<typeof drive> =>
      drive(jobCreatorMachine, input(0), [ev.proposal, deposit('1900'), timer('agreeDeadline', graceOver)])
    const watched = (): ReturnType<typeof step> => step(jobCreatorMachine, signedThenLapsed().snapshot, timer(`unconfirmed:${s.dealId}`, watchAt))
    const committed = (at = watchAt + 1, envelope: unknown = s.results): InputEvent =>
      ({ type: 'chain.committed', effect: `unconfirmed:${s.dealId}:${watchAt}`, dealId: s.dealId, envelope: envelope as never, at })

    test('it takes other matches, and keeps the deal to read the chain halfway through its judge window', () => {
      const r = signedThenLapsed()
      expect(r.snapshot.context).toMatchObject({ phase: 'offering', dealId: null, deadlines: { matchDeadline: s.job.matchDeadline, [`unconfirmed:${s.dealId}`]: watchAt } })
      // the watch outlives the job: it ends unmatched, the timer stays
      const ended = step(jobCreatorMachine, r.snapshot, timer('matchDeadline', s.job.matchDeadline))
      expect(ended.snapshot.context).toMatchObject({ phase: 'done', outcome: 'TimeoutMatch', deadlines: { [`unconfirmed:${s.dealId}`]: watchAt } })
      expect(watched().outputs).toEqual([{ type: 'chain.watch', id: `unconfirmed:${s.dealId}:${watchAt}`, dealId: s.dealId, commitment: true }])
    })

    test('a deal it never signed is not kept', () => {
      const r = drive(jobCreatorMachine, input(0), [ev.proposal, timer('agreeDeadline', graceOver)])
      expect(Object.keys(r.snapshot.context.deadlines)).toEqual(['matchDeadline'])
    })

    test('nothing committed on chain: the deal binds no one, and is forgotten', () => {
      const r = step(jobCreatorMachine, watched().snapshot, { type: 'chain.observed', effect: `unconfirmed:${s.dealId}:${watchAt}`, dealId: s.dealId, state: 'JobOffered', at: watchAt + 1 })
      expect(r.outputs).toEqual([])
      expect(r.snapshot.context.unconfirmed).toEqual([])
      expect(Object.keys(r.snapshot.context.deadlines)).toEqual(['matchDeadline'])
    })

    test('results the provider committed are challenged on chain, and TimeoutMediate is claimed once the mediate deadline passes', () => {
      const r = step(jobCreatorMachine, watched().snapshot, committed())
      expect(r.outputs).toEqual([
        expect.objectContaining({ type: 'message.send', id: `unconfirmed-challenge:${s.dealId}`, messageType: 'ResultsChallenged', to: [], message: expect.objectContaining({ dealId: s.dealId, resultsCid: s.cid }) }),
        { type: 'chain.challenge', id: `unconfirmed-chain-challenge:${s.dealId}`, dealId: s.dealId, evidence: [s.dealId, `unconfirmed-challenge:${s.dealId}`, idOf('ResultsSubmitted', s.results.message)] }
      ])
      expect(r.snapshot.context.deadlines[`unconfirmed:${s.dealId}`]).toBe(s.deal.mediateDeadline + 1)
      const claim = step(jobCreatorMachine, r.snapshot, timer(`unconfirmed:${s.dealId}`, s.deal.mediateDeadline + 1))
      expect(claim.outputs).toEqual([{ type: 'chain.claim', id: `unconfirmed-claim:${s.dealId}`, dealId: s.dealId, claim: 'TimeoutMediate', evidence: [s.dealId] }])
      // whatever settled it (a verdict first, or the claim), the deal is done with
      const settled = step(jobCreatorMachine, claim.snapshot, { type: 'chain.settled', effect: `unconfirmed-claim:${s.dealId}`, dealId: s.dealId, outcome: 'MediationAccepted', at: s.deal.mediateDeadline + 2 })
      expect(settled.snapshot.context.unconfirmed).toEqual([])
    })

    test('a challenge of ours the chain holds though its answer was lost: TimeoutMediate is still claimed', () => {
      const failed = step(jobCreatorMachine, step(jobCreatorMachine, watched().snapshot, committed()).snapshot,
        { type: 'effect.failed', effect: `unconfirmed-chain-challenge:${s.dealId}`, error: 'timeout', at: watchAt + 2 })
      const read = step(jobCreatorMachine, failed.snapshot, timer(`unconfirmed:${s.dealId}`, watchAt + 5_002))
      const mediating = step(jobCreatorMachine, read.snapshot, { type: 'chain.observed', effect: `unconfirmed:${s.dealId}:${watchAt + 5_002}`, dealId: s.dealId, state: 'Mediating', at: watchAt + 5_003 })
      expect(mediating.snapshot.context.deadlines[`unconfirmed:${s.dealId}`]).toBe(s.deal.mediateDeadline + 1)
    })

    test('results not signed by the provider are refused; a chain it cannot read is read again while the judge window lasts', () => {
      const forged = sign(parties.stranger, 'ResultsSubmitted', { ...s.results.message, author: parties.stranger.address })
      expect(step(jobCreatorMachine, watched().snapshot, committed(watchAt + 1, forged)).outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'WRONG_PARTY' })])
      const failed = step(jobCreatorMachine, watched().snapshot, { type: 'effect.failed', effect: `unconfirmed:${s.dealId}:${watchAt}`, error: 'no chain', at: watchAt + 1 })
      expect(failed.snapshot.context.deadlines[`unconfirmed:${s.dealId}`]).toBe(watchAt + 5_001)
      const tooLate = step(jobCreatorMachine, watched().snapshot, { type: 'effect.failed', effect: `unconfirmed:${s.dealId}:${watchAt}`, error: 'no chain', at: s.deal.judgeDeadline - 1 })
      expect(tooLate.snapshot.context.unconfirmed).toEqual([])
    })
  })

  describe('deadlines', () => {
    test('match deadline: the job ends unmatched', () => {
      const r = drive(jobCreatorMachine, input(0), [timer('matchDeadline', s.job.matchDeadline)])
      expect(r.snapshot.context).toMatchObject({ phase: 'done', outcome: 'TimeoutMatch', deadlines: {} })
    })
    test('agree deadline before the match deadline: it offers again', () => {
      const r = drive(jobCreatorMachine, input(0), [ev.proposal, timer('agreeDeadline', s.deal.agreeDeadline + AGREE_GRACE_MS)])
      expect(r.snapshot.context).toMatchObject({ phase: 'offering', dealId: null, deadlines: { matchDeadline: s.job.matchDeadline } })
    })
    test('a co-signature arriving just after the agree deadline binds: the provider signed in time by its clock', () => {
      const late = received(s.dealEnv, s.deal.agreeDeadline + AGREE_GRACE_MS - 1)
      const r = drive(jobCreatorMachine, input(0), [ev.proposal, late])
      expect(r.snapshot.context).toMatchObject({ phase: 'awaitingResults', dealId: s.dealId, deadlines: { submitDeadline: s.deal.submitDeadline } })
    })
    test('no co-signature within the grace after the agree deadline: the deal fell through', () => {
      const r = drive(jobCreatorMachine, input(0), [ev.proposal])
      const early = step(jobCreatorMachine, r.snapshot, timer('agreeDeadline', s.deal.agreeDeadline))
      expect(early.outputs).toEqual([expect.objectContaining({ type: 'input.rejected' })])
      const fired = step(jobCreatorMachine, r.snapshot, timer('agreeDeadline', s.deal.agreeDeadline + AGREE_GRACE_MS))
      expect(fired.snapshot.context).toMatchObject({ phase: 'offering', dealId: null, failedDeals: [s.dealId] })
      const after = step(jobCreatorMachine, fired.snapshot, received(s.dealEnv, s.deal.agreeDeadline + AGREE_GRACE_MS + 1))
      expect(after.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'WRONG_STATE' })])
    })
    test('a proposal whose agreement fell through is not taken again', () => {
      const r = drive(jobCreatorMachine, input(0), [ev.proposal, timer('agreeDeadline', s.deal.agreeDeadline + AGREE_GRACE_MS)])
      expect(r.snapshot.context).toMatchObject({ phase: 'offering', dealId: null, failedDeals: [s.dealId] })
      const again = step(jobCreatorMachine, r.snapshot, ev.proposal)
      expect(again.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'DUPLICATE' })])
      expect(again.snapshot.context).toEqual(r.snapshot.context)
    })
    test('agree deadline after the match deadline: TimeoutAgree', () => {
      const late = scenario({ job: { matchDeadline: T0 + 5_000 } })
      const r = drive(jobCreatorMachine, input(0, late.job), [received(late.propEnv, T0 + 1, [late.offerEnv]), timer('agreeDeadline', late.deal.agreeDeadline + AGREE_GRACE_MS)])
      expect(r.snapshot.context.outcome).toBe('TimeoutAgree')
    })
    test('submit deadline: it claims TimeoutSubmit', () => {
      const r = drive(jobCreatorMachine, input(0), [ev.proposal, ev.deal, timer('submitDeadline', s.deal.submitDeadline)])
      expect(r.snapshot.context.outcome).toBe('TimeoutSubmit')
      expect(r.last).toEqual([expect.objectContaining({ type: 'chain.claim', claim: 'TimeoutSubmit', dealId: s.dealId })])
    })
    test('judge deadline while still fetching: TimeoutJudge, nothing to claim', () => {
      const r = drive(jobCreatorMachine, input(0), [...toResults, timer('judgeDeadline', s.deal.judgeDeadline)])
      expect(r.snapshot.context.outcome).toBe('TimeoutJudge')
      expect(r.last).toEqual([])
    })
    test('mediate deadline: it claims TimeoutMediate', () => {
      const r = drive(jobCreatorMachine, input(0), [...toResults, ev.fetched(false), notCommitted, timer('mediateDeadline', s.deal.mediateDeadline)])
      expect(r.last).toEqual([expect.objectContaining({ type: 'chain.claim', claim: 'TimeoutMediate' })])
    })
    test('given a TimeoutSubmit claim the chain refused, when the chain settles the deal TimeoutJudge, it records TimeoutJudge', () => {
      const claimed = drive(jobCreatorMachine, input(0), [ev.proposal, ev.deal, timer('submitDeadline', s.deal.submitDeadline)])
      const settled = { type: 'chain.settled', effect: `claim:${s.dealId}`, dealId: s.dealId, outcome: 'TimeoutJudge', at: s.deal.judgeDeadline + 1 }
      const r = step(jobCreatorMachine, claimed.snapshot, settled)
      expect(r.snapshot.context).toMatchObject({ phase: 'done', outcome: 'TimeoutJudge', deadlines: {} })
      expect(r.outputs).toEqual([])
    })
    test.each([
      ['another deal', { dealId: '0x' + '00'.repeat(32), outcome: 'TimeoutJudge' }, 'WRONG_DEAL'],
      ['no outcome', { dealId: s.dealId, outcome: 'Settled' }, 'INCONSISTENT']
    ])('a settlement of %s is rejected and changes nothing', (_, fields, code) => {
      const claimed = drive(jobCreatorMachine, input(0), [ev.proposal, ev.deal, timer('submitDeadline', s.deal.submitDeadline)])
      const r = step(jobCreatorMachine, claimed.snapshot, { type: 'chain.settled', effect: `claim:${s.dealId}`, ...fields, at: s.deal.judgeDeadline + 1 })
      expect(r.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code })])
      expect(r.snapshot.context).toEqual(claimed.snapshot.context)
    })
    test('a timer before its deadline is rejected', () => {
      const r = drive(jobCreatorMachine, input(0), [])
      expect(step(jobCreatorMachine, r.snapshot, timer('matchDeadline', s.job.matchDeadline - 1)).outputs[0]).toMatchObject({ code: 'EARLY_TIMER' })
    })
  })

  test.each([
    ['results by a stranger', toResults.slice(0, 2), () => received(sign(parties.stranger, 'ResultsSubmitted', { ...s.results.message, author: parties.stranger.address }), T0 + 3), 'WRONG_PARTY'],
    ['a proposal from an untrusted solver', [], () => received(sign(parties.stranger, 'MatchProposal', { ...s.prop, author: parties.stranger.address }), T0 + 1, [s.offerEnv]), 'UNTRUSTED'],
    ['a fetch result for another deal', toResults, () => ({ type: 'results.fetched', effect: 'fetch:0x00', ok: true, at: T0 + 4 }), 'WRONG_DEAL'],
    ['a verdict by another mediator', [...toResults, ev.fetched(false), notCommitted], () => received(s.verdict(true, parties.otherMediator), T0 + 6), 'WRONG_PARTY']
  ] as const)('%s is rejected and changes nothing', (_, before, event, code) => {
    const r = drive(jobCreatorMachine, input(0), [...before])
    const after = step(jobCreatorMachine, r.snapshot, event())
    expect(after.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code })])
    expect(after.snapshot.context).toEqual(r.snapshot.context)
  })

  test('property: rejected inputs change nothing and a replay reproduces the run', () => {
    const events = fc.constantFrom<InputEvent>(
      ...toResults, ev.fetched(true), ev.fetched(false), ev.verified(s.cid), ev.verified(s.otherCid), notCommitted, ev.verdict(true), ev.verdict(false),
      timer('matchDeadline', s.job.matchDeadline), timer('agreeDeadline', s.deal.agreeDeadline + AGREE_GRACE_MS), timer('submitDeadline', s.deal.submitDeadline),
      timer('judgeDeadline', s.deal.judgeDeadline), timer('mediateDeadline', s.deal.mediateDeadline), { type: 'noise', at: T0 }
    )
    assertReplayProperty(jobCreatorMachine, input(0.5), events)
  })
})

describe('the check decision', () => {
  test('is deterministic, depends on the secret, and follows the rate', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => '0x' + i.toString(16).padStart(64, '0'))
    expect(ids.every(id => shouldCheck(id, SECRET, 0) === false)).toBe(true)
    expect(ids.every(id => shouldCheck(id, SECRET, 1) === true)).toBe(true)
    const rate = ids.filter(id => shouldCheck(id, SECRET, 0.3)).length / ids.length
    expect(rate).toBeGreaterThan(0.25)
    expect(rate).toBeLessThan(0.35)
    expect(ids.map(id => shouldCheck(id, SECRET, 0.5))).toEqual(ids.map(id => shouldCheck(id, SECRET, 0.5)))
    const other = '0x' + '77'.repeat(32)
    expect(ids.filter(id => shouldCheck(id, SECRET, 0.5) !== shouldCheck(id, other, 0.5)).length).toBeGreaterThan(500)
    expect(checkDraw(ids[0]!, SECRET)).not.toBe(checkDraw(ids[0]!, other))
  })
  test('rejects a rate outside [0, 1]', () => {
    expect(() => shouldCheck(s.dealId, SECRET, 1.5)).toThrow(RangeError)
  })
})
