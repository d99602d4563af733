import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { getSimplePaths } from '@xstate/graph'
import { DEAL_STATES } from '../../../src/state-machines/deal-states.ts'
import { dealMachine } from '../../../src/state-machines/deal.machine.ts'
import type { InputEvent } from '../../../src/state-machines/contract.ts'
import { start, step } from '../../../src/state-machines/step.ts'
import { domainJson, parties, received, scenario, sign, T0, timer } from './fixtures.ts'

const s = scenario()
type Snap = ReturnType<typeof start<typeof dealMachine>>['snapshot']

function given (...events: InputEvent[]): Snap {
  let snap = start(dealMachine, { domain: domainJson, jobOffer: s.jobEnv, at: T0 }).snapshot
  for (const e of events) {
    const r = step(dealMachine, snap, e)
    expect(r.outputs.filter(o => o.type === 'input.rejected'), `given ${e.type}`).toEqual([])
    snap = r.snapshot
  }
  return snap
}

const ev = {
  proposal: received(s.propEnv, T0 + 1, [s.offerEnv]),
  deal: received(s.dealEnv, T0 + 2),
  results: received(s.results, T0 + 3),
  accepted: received(s.accepted, T0 + 4),
  challenged: received(s.challenged, T0 + 4),
  verdictOk: received(s.verdict(false), T0 + 5),
  verdictFault: received(s.verdict(true), T0 + 5),
  settled: { type: 'chain.settled', dealId: s.dealId, at: T0 + 6 } as InputEvent
}
const path = {
  JobOffered: [] as InputEvent[],
  Matched: [ev.proposal],
  Agreed: [ev.proposal, ev.deal],
  ResultsSubmitted: [ev.proposal, ev.deal, ev.results],
  Mediating: [ev.proposal, ev.deal, ev.results, ev.challenged]
}

function expectRejected (snap: Snap, event: InputEvent, code: string): void {
  const r = step(dealMachine, snap, event)
  expect(r.snapshot.value).toBe(snap.value)
  expect(JSON.stringify(r.snapshot.context)).toBe(JSON.stringify(snap.context))
  expect(r.outputs).toHaveLength(1)
  expect(r.outputs[0]).toMatchObject({ type: 'input.rejected', code })
}

describe('deal machine: transitions', () => {
  test('given a signed job offer, it starts in JobOffered with the match deadline armed', () => {
    const snap = given()
    expect(snap.value).toBe('JobOffered')
    expect(snap.context.deadlines).toEqual({ matchDeadline: s.job.matchDeadline })
  })

  test('when a valid proposal arrives with its resource offer, then Matched with the agree deadline', () => {
    const snap = given(...path.Matched)
    expect(snap.value).toBe('Matched')
    expect(snap.context.dealId).toBe(s.dealId)
    expect(snap.context.deadlines).toEqual({ agreeDeadline: s.deal.agreeDeadline })
  })

  test('when the deal signed by both arrives, then Agreed with the submit deadline', () => {
    const snap = given(...path.Agreed)
    expect(snap.value).toBe('Agreed')
    expect(snap.context.deadlines).toEqual({ submitDeadline: s.deal.submitDeadline })
  })

  test('when the provider submits results, then ResultsSubmitted with the judge deadline', () => {
    const snap = given(...path.ResultsSubmitted)
    expect(snap.value).toBe('ResultsSubmitted')
    expect(snap.context.resultsCid).toBe(s.cid)
    expect(snap.context.deadlines).toEqual({ judgeDeadline: s.deal.judgeDeadline })
  })

  test('when the creator accepts, then Accepted and the outcome is reported with its payouts', () => {
    const r = step(dealMachine, given(...path.ResultsSubmitted), ev.accepted)
    expect(r.snapshot.value).toBe('Accepted')
    expect(r.outputs).toEqual([{
      type: 'deal.outcome', id: `outcome:${s.dealId}`, dealId: s.dealId, outcome: 'Accepted',
      payouts: { jobCreator: '1495', resourceProvider: '2700', mediator: '0', solver: '5' }
    }])
  })

  test('when the creator challenges naming a deal mediator, then Mediating with the mediate deadline', () => {
    const snap = given(...path.Mediating)
    expect(snap.value).toBe('Mediating')
    expect(snap.context.mediator).toBe(parties.mediator.address)
    expect(snap.context.deadlines).toEqual({ mediateDeadline: s.deal.mediateDeadline })
  })

  test('when the mediator finds the results right, then MediationAccepted', () => {
    const r = step(dealMachine, given(...path.Mediating), ev.verdictOk)
    expect(r.snapshot.value).toBe('MediationAccepted')
    expect(r.outputs[0]).toMatchObject({ type: 'deal.outcome', outcome: 'MediationAccepted', payouts: { mediator: '50' } })
  })

  test('when the mediator finds the provider at fault, then MediationRejected', () => {
    const r = step(dealMachine, given(...path.Mediating), ev.verdictFault)
    expect(r.snapshot.value).toBe('MediationRejected')
    expect(r.outputs[0]).toMatchObject({ outcome: 'MediationRejected', payouts: { jobCreator: '3800', resourceProvider: '350' } })
  })

  test.each(['Accepted', 'MediationAccepted', 'MediationRejected'] as const)('when %s is settled on chain, then Settled (final)', (outcome) => {
    const last = outcome === 'Accepted' ? [ev.accepted] : [ev.challenged, outcome === 'MediationAccepted' ? ev.verdictOk : ev.verdictFault]
    const snap = given(...path.ResultsSubmitted, ...last, ev.settled)
    expect(snap.value).toBe('Settled')
    expect(snap.status).toBe('done')
  })
})

describe('deal machine: deadlines', () => {
  test.each([
    ['JobOffered', 'matchDeadline', s.job.matchDeadline, 'TimeoutMatch', null],
    ['Matched', 'agreeDeadline', s.deal.agreeDeadline, 'TimeoutAgree', null],
    ['Agreed', 'submitDeadline', s.deal.submitDeadline, 'TimeoutSubmit', { jobCreator: '2700', resourceProvider: '1500' }],
    ['ResultsSubmitted', 'judgeDeadline', s.deal.judgeDeadline, 'TimeoutJudge', { resourceProvider: '3000', jobCreator: '1195' }],
    ['Mediating', 'mediateDeadline', s.deal.mediateDeadline, 'TimeoutMediate', { jobCreator: '2300', resourceProvider: '1900' }]
  ] as const)('given %s, when %s passes, then %s', (state, name, due, to, payouts) => {
    const before = given(...path[state])
    expectRejected(before, timer(name, due - 1), 'EARLY_TIMER')
    const r = step(dealMachine, before, timer(name, due))
    expect(r.snapshot.value).toBe(to)
    expect(r.snapshot.context.deadlines).toEqual({})
    if (payouts === null) {
      expect(r.outputs).toEqual([])
      expect(r.snapshot.status).toBe('done')
    } else {
      expect(r.outputs[0]).toMatchObject({ type: 'deal.outcome', outcome: to, payouts })
      expect(step(dealMachine, r.snapshot, { ...ev.settled, at: due + 1 }).snapshot.value).toBe('Settled')
    }
  })

  test('a timer that is not armed in this state is rejected', () => {
    expectRejected(given(...path.Agreed), timer('matchDeadline', s.job.matchDeadline + 1), 'EARLY_TIMER')
  })
})

describe('deal machine: untrusted inputs change nothing and are reported', () => {
  const other = scenario({ job: { nonce: '2' } })
  test.each([
    ['a proposal from an untrusted solver', 'JobOffered', () => received(sign(parties.stranger, 'MatchProposal', { ...s.prop, author: parties.stranger.address }), T0 + 1, [s.offerEnv]), 'UNTRUSTED'],
    ['a proposal for another job', 'JobOffered', () => received(other.propEnv, T0 + 1, [other.offerEnv]), 'WRONG_DEAL'],
    ['a proposal above the max price', 'JobOffered', () => {
      const o = scenario({ offer: { price: '1001' }, proposal: { price: '1001' } })
      return received(o.propEnv, T0 + 1, [o.offerEnv])
    }, 'INCONSISTENT'],
    ['a proposal without its resource offer', 'JobOffered', () => received(s.propEnv, T0 + 1), 'INCONSISTENT'],
    ['a tampered proposal', 'JobOffered', () => received({ ...s.propEnv, message: { ...s.propEnv.message, price: '900' } }, T0 + 1, [s.offerEnv]), 'WRONG_SIGNER'],
    ['an expired proposal', 'JobOffered', () => received(s.propEnv, s.prop.expiry + 1, [s.offerEnv]), 'EXPIRED'],
    ['results before any deal', 'JobOffered', () => ev.results, 'WRONG_STATE'],
    ['a deal signed by the creator only', 'Matched', () => received(s.halfSigned, T0 + 2), 'MISSING_SIGNATURE'],
    ['a deal with other terms', 'Matched', () => {
      const d = { ...s.deal, price: '900' }
      return received(sign(parties.resourceProvider, 'Deal', d, sign(parties.jobCreator, 'Deal', d).signatures), T0 + 2)
    }, 'INCONSISTENT'],
    ['results signed by the creator', 'Agreed', () => received(sign(parties.jobCreator, 'ResultsSubmitted', { ...s.results.message, author: parties.jobCreator.address }), T0 + 3), 'WRONG_PARTY'],
    ['results for another deal', 'Agreed', () => received(sign(parties.resourceProvider, 'ResultsSubmitted', { ...s.results.message, dealId: '0x' + '77'.repeat(32) }), T0 + 3), 'WRONG_DEAL'],
    ['results after the submit deadline', 'Agreed', () => received(s.results, s.deal.submitDeadline + 1), 'LATE'],
    ['an acceptance by the provider', 'ResultsSubmitted', () => received(sign(parties.resourceProvider, 'ResultsAccepted', { ...s.accepted.message, author: parties.resourceProvider.address }), T0 + 4), 'WRONG_PARTY'],
    ['an acceptance of other results', 'ResultsSubmitted', () => received(sign(parties.jobCreator, 'ResultsAccepted', { ...s.accepted.message, resultsCid: s.otherCid }), T0 + 4), 'INCONSISTENT'],
    ['a challenge naming a mediator outside the deal', 'ResultsSubmitted', () => received(sign(parties.jobCreator, 'ResultsChallenged', { ...s.challenged.message, mediator: parties.otherMediator.address }), T0 + 4), 'UNTRUSTED'],
    ['a challenge after the judge deadline', 'ResultsSubmitted', () => received(s.challenged, s.deal.judgeDeadline + 1), 'LATE'],
    ['a verdict by another mediator', 'Mediating', () => received(s.verdict(true, parties.otherMediator), T0 + 5), 'WRONG_PARTY'],
    ['a verdict after the mediate deadline', 'Mediating', () => received(s.verdict(true), s.deal.mediateDeadline + 1), 'EXPIRED'],
    ['an event nobody understands', 'Agreed', () => ({ type: 'nonsense', at: T0 + 3 }), 'WRONG_STATE']
  ] as const)('%s (in %s) is rejected with $3', (_, state, event, code) => {
    expectRejected(given(...path[state]), event(), code)
  })

  test('settlement of another deal is rejected', () => {
    expectRejected(given(...path.ResultsSubmitted, ev.accepted), { ...ev.settled, dealId: '0x' + '00'.repeat(32) }, 'WRONG_DEAL')
  })
})

describe('deal machine: properties', () => {
  const valid = [ev.proposal, ev.deal, ev.results, ev.accepted, ev.challenged, ev.verdictOk, ev.verdictFault, ev.settled]
  const timers = ['matchDeadline', 'agreeDeadline', 'submitDeadline', 'judgeDeadline', 'mediateDeadline']
  const invalid = [
    received(s.verdict(true, parties.otherMediator), T0 + 5),
    received(s.halfSigned, T0 + 2),
    received({ ...s.results, message: { ...s.results.message, exitCode: 3 } }, T0 + 3),
    { type: 'garbage', at: T0 } as InputEvent,
    received({ nonsense: true } as never, T0)
  ]
  const eventArb = fc.oneof(
    fc.constantFrom(...valid, ...invalid),
    fc.record({ name: fc.constantFrom(...timers), offset: fc.integer({ min: -5, max: 200_000 }) })
      .map(({ name, offset }) => timer(name, T0 + offset))
  )

  test('a rejected event changes nothing; replaying the log reproduces every state and output', () => {
    fc.assert(fc.property(fc.array(eventArb, { maxLength: 14 }), events => {
      const live = start(dealMachine, { domain: domainJson, jobOffer: s.jobEnv, at: T0 })
      let snap = live.snapshot
      const outputs: unknown[] = [live.outputs]
      const states: string[] = []
      for (const e of events) {
        const r = step(dealMachine, snap, e)
        if (r.outputs.some(o => o.type === 'input.rejected')) {
          expect(JSON.stringify(r.snapshot.context)).toBe(JSON.stringify(snap.context))
          expect(r.snapshot.value).toBe(snap.value)
        }
        // snapshots persist as JSON and restore to the same machine state
        snap = dealMachine.resolveState(JSON.parse(JSON.stringify(r.snapshot)))
        outputs.push(r.outputs)
        states.push(JSON.stringify(r.snapshot))
      }
      const replay = start(dealMachine, { domain: domainJson, jobOffer: s.jobEnv, at: T0 })
      let again = replay.snapshot
      const outputsAgain: unknown[] = [replay.outputs]
      const statesAgain: string[] = []
      for (const e of events) {
        const r = step(dealMachine, again, JSON.parse(JSON.stringify(e)))
        again = r.snapshot
        outputsAgain.push(r.outputs)
        statesAgain.push(JSON.stringify(r.snapshot))
      }
      expect(statesAgain).toEqual(states)
      expect(JSON.stringify(outputsAgain)).toBe(JSON.stringify(outputs))
    }), { numRuns: 150 })
  })
})

describe('deal machine: every path', () => {
  const timerEvents = [
    timer('matchDeadline', s.job.matchDeadline), timer('agreeDeadline', s.deal.agreeDeadline),
    timer('submitDeadline', s.deal.submitDeadline), timer('judgeDeadline', s.deal.judgeDeadline),
    timer('mediateDeadline', s.deal.mediateDeadline)
  ]
  const all = [ev.proposal, ev.deal, ev.results, ev.accepted, ev.challenged, ev.verdictOk, ev.verdictFault, ev.settled, ...timerEvents]
  const paths = getSimplePaths(dealMachine, {
    input: { domain: domainJson, jobOffer: s.jobEnv, at: T0 },
    events: all as never,
    serializeState: (snap: unknown) => JSON.stringify((snap as { value: unknown }).value)
  } as never)

  test('the graph reaches every deal state', () => {
    const reached = new Set(paths.map(p => p.state.value as string))
    expect([...reached].sort()).toEqual([...DEAL_STATES].sort())
  })

  test.each(paths.map(p => [p.steps.map(st => (st.state.value as string)).join(' > '), p] as const))('drives %s', (_, p) => {
    let snap = start(dealMachine, { domain: domainJson, jobOffer: s.jobEnv, at: T0 }).snapshot
    for (const st of p.steps.slice(1)) {
      const r = step(dealMachine, snap, st.event as InputEvent)
      expect(r.outputs.filter(o => o.type === 'input.rejected')).toEqual([])
      snap = r.snapshot
      expect(snap.value).toBe(st.state.value)
    }
    expect(snap.value).toBe(p.state.value)
  })
})
