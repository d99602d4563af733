import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import type { InputEvent } from '../../../src/state-machines/contract.ts'
import { ANNOUNCE_TTL_MS, CONFIRM_GRACE_MS, CONFIRM_RETRY_MS, MAX_CONFIRMING, MEDIATORS_TOPIC, mediatorMachine, REDRAW_READ_MS } from '../../../src/state-machines/mediator.machine.ts'
import { step } from '../../../src/state-machines/step.ts'
import { takeDeadline } from '../../../src/state-machines/deal-lifecycle.ts'
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
/** the job made ready here: the case can be taken */
const prepared: InputEvent = { type: 'job.prepared', effect: `prepare:${s.dealId}`, ok: true, at: T0 + 4 }
/** the deadlines a mediator arms for its deals (not the renewal of its announcement) */
const dealTimers = (snapshot: { context: { deadlines: Record<string, number> } }): Record<string, number> =>
  Object.fromEntries(Object.entries(snapshot.context.deadlines).filter(([name]) => name !== 'announce'))

describe('mediator', () => {
  test('announces itself when it starts (fee, capacity, where to reach it), and again halfway through each announcement\'s life', () => {
    const started = drive(mediatorMachine, { ...input, fee: '75', multiaddrs: ['/ip4/127.0.0.1/tcp/4001'] }, [])
    const announcement = { author: parties.mediator.address, nonce: String(T0), expiry: T0 + ANNOUNCE_TTL_MS, fee: '75', capacity: 1, multiaddrs: ['/ip4/127.0.0.1/tcp/4001'] }
    expect(started.last).toEqual([{ type: 'message.publish', id: `announce:${T0}`, messageType: 'MediatorAnnouncement', message: announcement, topic: MEDIATORS_TOPIC }])
    const at = T0 + ANNOUNCE_TTL_MS / 2
    const renewed = step(mediatorMachine, started.snapshot, timer('announce', at))
    expect(renewed.outputs).toEqual([expect.objectContaining({ messageType: 'MediatorAnnouncement', message: { ...announcement, nonce: String(at), expiry: at + ANNOUNCE_TTL_MS } })])
    expect(renewed.snapshot.context.deadlines).toEqual({ announce: at + ANNOUNCE_TTL_MS / 2 })
    // one that could not go out is no fault of anyone's: the renewal sends a fresh one
    const failed = step(mediatorMachine, renewed.snapshot, { type: 'effect.failed', effect: `announce:${at}`, error: 'NO_PEERS', at: at + 1 })
    expect(failed.outputs).toEqual([])
    expect(failed.snapshot.context).toEqual(renewed.snapshot.context)
  })

  test('when challenged on a deal that names it, it reads the deal on chain, makes the job ready, then takes the case, fetches the results and re-runs the job', () => {
    expect(drive(mediatorMachine, input, [ev.challenge]).last).toEqual([{ type: 'chain.watch', id: `confirm:${s.dealId}:${T0 + 4}`, dealId: s.dealId }])
    expect(drive(mediatorMachine, input, [ev.challenge, mediating]).last).toEqual([
      { type: 'job.prepare', id: `prepare:${s.dealId}`, dealId: s.dealId, job: s.job, maxDurationMs: s.deal.mediateDeadline - (T0 + 4) }
    ])
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, prepared])
    expect(r.last).toEqual([
      { type: 'chain.takeCase', id: `take:${s.dealId}`, dealId: s.dealId },
      { type: 'results.fetch', id: `fetch:${s.dealId}`, dealId: s.dealId, resultsCid: s.cid, from: parties.resourceProvider.address },
      expect.objectContaining({ type: 'job.run', id: `rerun:${s.dealId}`, purpose: 'mediate', job: s.job })
    ])
    expect(dealTimers(r.snapshot)).toEqual({ [`mediate:${s.dealId}`]: s.deal.mediateDeadline })
  })

  test.each([
    ['the same CID', true, s.cid, false, 'MediationAccepted'],
    ['another CID', true, s.otherCid, true, 'MediationRejected'],
    ['unfetchable results', false, s.cid, true, 'MediationRejected']
  ] as const)('with %s, it signs a verdict and settles the fee it is owed', (_, fetched, cid, fault, outcome) => {
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, prepared, ev.fetched(fetched), ev.rerun(cid)])
    expect(r.last).toEqual([
      expect.objectContaining({
        type: 'message.send', messageType: 'MediationVerdict', to: [parties.jobCreator.address, parties.resourceProvider.address],
        message: expect.objectContaining({ dealId: s.dealId, resultsCid: s.cid, mediatorCid: cid, providerAtFault: fault })
      }),
      expect.objectContaining({ type: 'chain.settle', outcome })
    ])
    expect(dealTimers(r.snapshot)).toEqual({})
  })

  test('a mediation that ended is forgotten when a later challenge comes after its deal\'s mediate deadline', () => {
    const decided = drive(mediatorMachine, input, [ev.challenge, mediating, prepared, ev.fetched(true), ev.rerun(s.cid)])
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
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, prepared, ev.fetched(true), failedHere])
    expect(r.last).toEqual([expect.objectContaining({ type: 'deal.declined', dealId: s.dealId })])
    expect(r.snapshot.context.mediations[s.dealId]).toMatchObject({ state: 'declined' })
    expect(dealTimers(r.snapshot)).toEqual({})
    const failedForAll = drive(mediatorMachine, input, [ev.challenge, mediating, prepared, ev.fetched(true), { ...ev.rerun('bafy-failed-run'), failure: 'ERR_SPEC_MISMATCH' }])
    expect(failedForAll.last[0]).toMatchObject({ messageType: 'MediationVerdict', message: expect.objectContaining({ providerAtFault: true }) })
    // the provider's results are the same failure: reproduced, whatever its kind
    const same = drive(mediatorMachine, input, [ev.challenge, mediating, prepared, ev.fetched(true), { ...ev.rerun(s.cid), failure: 'ERR_GPU_UNAVAILABLE' }])
    expect(same.last[0]).toMatchObject({ messageType: 'MediationVerdict', message: expect.objectContaining({ providerAtFault: false }) })
  })

  test('a deal that pays less than the mediator asks buys no re-run; one that pays its fee does', () => {
    const fee = BigInt(s.deal.mediatorFee)
    const dear = step(mediatorMachine, drive(mediatorMachine, { ...input, fee: String(fee + 1n) }, []).snapshot, ev.challenge)
    expect(dear.outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'UNDERPAID' })])
    expect(dear.snapshot.context.mediations).toEqual({})
    expect(drive(mediatorMachine, { ...input, fee: String(fee) }, [ev.challenge]).last).toEqual([expect.objectContaining({ type: 'chain.watch' })])
  })

  test('on a deal that asks for 2 verdicts every mediator of the deal judges, with no draw, for its share of the fee', () => {
    const q = scenario({ job: { quorum: 2 }, proposal: { mediators: [parties.mediator.address, parties.otherMediator.address], mediatorFee: '100' } })
    expect(q.deal.quorum).toBe(2)
    const challenge = received(q.challenged, T0 + 4, [q.dealEnv, q.results, q.jobEnv])
    // the chain names another mediator (or none): on a quorum deal it draws no one, and this one judges all the same
    const observed = (mediator: string): InputEvent => ({ type: 'chain.observed', effect: `confirm:${q.dealId}:${T0 + 4}`, dealId: q.dealId, state: 'Mediating', mediator, caseTaken: false, at: T0 + 4 })
    for (const named of [parties.otherMediator.address, '0x' + '00'.repeat(20)]) {
      expect(drive(mediatorMachine, input, [challenge, observed(named)]).last).toEqual([expect.objectContaining({ type: 'job.prepare', dealId: q.dealId })])
    }
    const ready: InputEvent = { type: 'job.prepared', effect: `prepare:${q.dealId}`, ok: true, at: T0 + 4 }
    const run = drive(mediatorMachine, input, [challenge, observed(parties.otherMediator.address), ready])
    expect(run.last[0]).toEqual({ type: 'chain.takeCase', id: `take:${q.dealId}`, dealId: q.dealId })
    // the fee of 100 splits in two: a mediator that asks 50 judges, one that asks 51 does not
    expect(drive(mediatorMachine, { ...input, fee: '50' }, [challenge]).last).toEqual([expect.objectContaining({ type: 'chain.watch' })])
    expect(step(mediatorMachine, drive(mediatorMachine, { ...input, fee: '51' }, []).snapshot, challenge).outputs).toEqual([expect.objectContaining({ type: 'input.rejected', code: 'UNDERPAID' })])
  })

  test('the chain\'s word that the deal settled after its verdict is taken, and changes nothing', () => {
    const decided = drive(mediatorMachine, input, [ev.challenge, mediating, prepared, ev.fetched(true), ev.rerun(s.cid)])
    const settled = step(mediatorMachine, decided.snapshot, { type: 'chain.settled', effect: `settle:${s.dealId}`, dealId: s.dealId, outcome: 'MediationAccepted', at: T0 + 7 })
    expect(settled.outputs).toEqual([])
    expect(settled.snapshot.context).toEqual(decided.snapshot.context)
    expect(step(mediatorMachine, decided.snapshot, { type: 'chain.settled', effect: 'settle:0x00', dealId: '0x00', outcome: 'MediationAccepted', at: T0 + 7 }).outputs)
      .toEqual([expect.objectContaining({ code: 'WRONG_DEAL' })])
  })

  test('the verdict waits for both the fetch and the re-run, in either order', () => {
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, prepared, ev.rerun(s.cid)])
    expect(r.last).toEqual([])
    expect(drive(mediatorMachine, input, [ev.challenge, mediating, prepared, ev.rerun(s.cid), ev.fetched(true)]).last[0]).toMatchObject({ messageType: 'MediationVerdict' })
  })

  test('when the mediate deadline passes first, it gives up and claims nothing', () => {
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, prepared, timer(`mediate:${s.dealId}`, s.deal.mediateDeadline)])
    expect(r.last).toEqual([])
    expect(r.snapshot.context.mediations[s.dealId]!.state).toBe('missed')
    expect(step(mediatorMachine, r.snapshot, ev.rerun(s.cid)).outputs[0]).toMatchObject({ code: 'WRONG_STATE' })
  })

  test.each([
    ['a challenge without the deal', [], () => received(s.challenged, T0 + 4, [s.results, s.jobEnv]), 'INCONSISTENT'],
    ['a challenge by the provider', [], () => received(sign(parties.resourceProvider, 'ResultsChallenged', { ...s.challenged.message, author: parties.resourceProvider.address }), T0 + 4, [s.dealEnv, s.results, s.jobEnv]), 'WRONG_PARTY'],
    ['a challenge after the mediate deadline (when it expires)', [], () => ({ ...ev.challenge, at: s.deal.mediateDeadline + 1 }), 'EXPIRED'],
    ['a challenge of other results of a deal in mediation', [ev.challenge], () => received(
      sign(parties.jobCreator, 'ResultsChallenged', { ...s.challenged.message, resultsCid: s.otherCid }), T0 + 4,
      [s.dealEnv, sign(parties.resourceProvider, 'ResultsSubmitted', { ...s.results.message, resultsCid: s.otherCid }), s.jobEnv]), 'DUPLICATE'],
    ['a second challenge beyond capacity (one mediation running)', [ev.challenge, mediating], () => {
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

  test('a challenge passed on after the judge deadline is taken only once the chain shows the deal in mediation with this mediator drawn to judge', () => {
    const late = drive(mediatorMachine, input, [{ ...ev.challenge, at: s.deal.judgeDeadline + 1 }])
    expect(late.last).toEqual([{ type: 'chain.watch', id: `confirm:${s.dealId}:${s.deal.judgeDeadline + 1}`, dealId: s.dealId }])
    const observed = (state: string, mediator?: string): InputEvent => ({ type: 'chain.observed', effect: `confirm:${s.dealId}:${s.deal.judgeDeadline + 1}`, dealId: s.dealId, state, ...(mediator === undefined ? {} : { mediator }), at: s.deal.judgeDeadline + 2 })
    const taken = step(mediatorMachine, late.snapshot, observed('Mediating', parties.mediator.address))
    expect(taken.outputs.map(o => o.type)).toEqual(['job.prepare'])
    expect(dealTimers(taken.snapshot)).toEqual({ [`mediate:${s.dealId}`]: s.deal.mediateDeadline })
    // its case taken by another mediator: dropped at once
    const other = step(mediatorMachine, late.snapshot, { ...observed('Mediating', parties.otherMediator.address), caseTaken: true })
    expect(other.outputs).toEqual([])
    expect(other.snapshot.context.mediations).toEqual({})
    expect(dealTimers(other.snapshot)).toEqual({})
    // in mediation with no judge to be read (the draw was not readable): read again shortly
    const undrawn = step(mediatorMachine, late.snapshot, observed('Mediating'))
    expect(undrawn.outputs).toEqual([])
    expect(undrawn.snapshot.context.mediations[s.dealId]!.state).toBe('confirming')
    expect(dealTimers(undrawn.snapshot)).toEqual({ [`confirm:${s.dealId}`]: s.deal.judgeDeadline + 2 + CONFIRM_RETRY_MS })
  })

  test('another mediator drawn that has not taken the case: the deal is read again while the case may be taken, for a fresh draw may name this one', () => {
    const long = scenario({ job: { mediateWithin: 10 * 60_000 } })
    const takeBy = takeDeadline(long.deal)
    const at = long.deal.judgeDeadline + 1
    const confirming = drive(mediatorMachine, input, [received(long.challenged, at, [long.dealEnv, long.results, long.jobEnv])])
    const read = (when: number, mediator: string, caseTaken = false): InputEvent =>
      ({ type: 'chain.observed', effect: `confirm:${long.dealId}:${at}`, dealId: long.dealId, state: 'Mediating', mediator, caseTaken, at: when })
    const waiting = step(mediatorMachine, confirming.snapshot, read(at + 1, parties.otherMediator.address))
    expect(waiting.outputs).toEqual([])
    expect(waiting.snapshot.context.mediations[long.dealId]!.state).toBe('confirming')
    expect(dealTimers(waiting.snapshot)).toEqual({ [`confirm:${long.dealId}`]: at + 1 + REDRAW_READ_MS })
    // the judge let the draw lapse, and the fresh draw names this mediator: it prepares the job
    const redrawn = step(mediatorMachine, waiting.snapshot, read(at + 2 + REDRAW_READ_MS, parties.mediator.address))
    expect(redrawn.outputs.map(o => o.type)).toEqual(['job.prepare'])
    // too late for a read to come before the case can no longer be taken: dropped
    const late = step(mediatorMachine, confirming.snapshot, read(takeBy - REDRAW_READ_MS + 1, parties.otherMediator.address))
    expect(late.snapshot.context.mediations).toEqual({})
    expect(dealTimers(late.snapshot)).toEqual({})
  })

  test('a challenge is mediated only once the chain shows it: until then the deal is read again, and after the judge deadline and its grace it is dropped', () => {
    // the challenge's transaction may still be on its way: no re-run yet, another read in a few seconds
    const waiting = drive(mediatorMachine, input, [ev.challenge, ev.observed('ResultsSubmitted')])
    expect(waiting.last).toEqual([])
    expect(waiting.snapshot.context.mediations[s.dealId]!.state).toBe('confirming')
    expect(dealTimers(waiting.snapshot)).toEqual({ [`confirm:${s.dealId}`]: T0 + 4 + CONFIRM_RETRY_MS })
    const again = step(mediatorMachine, waiting.snapshot, timer(`confirm:${s.dealId}`, T0 + 4 + CONFIRM_RETRY_MS))
    expect(again.outputs).toEqual([{ type: 'chain.watch', id: `confirm:${s.dealId}:${T0 + 4 + CONFIRM_RETRY_MS}`, dealId: s.dealId }])
    const onChain: InputEvent = { type: 'chain.observed', effect: `confirm:${s.dealId}:${T0 + 4 + CONFIRM_RETRY_MS}`, dealId: s.dealId, state: 'Mediating', mediator: parties.mediator.address, at: T0 + 5 + CONFIRM_RETRY_MS }
    const taken = step(mediatorMachine, again.snapshot, onChain)
    expect(taken.outputs.map(o => o.type)).toEqual(['job.prepare'])
    expect(dealTimers(taken.snapshot)).toEqual({ [`mediate:${s.dealId}`]: s.deal.mediateDeadline })

    // never on chain by the judge deadline and its grace: dropped, nothing run
    const gone: InputEvent = { ...ev.observed('JobOffered'), at: s.deal.judgeDeadline + CONFIRM_GRACE_MS + 1 }
    const dropped = step(mediatorMachine, drive(mediatorMachine, input, [ev.challenge]).snapshot, gone)
    expect(dropped.outputs).toEqual([])
    expect(dropped.snapshot.context.mediations).toEqual({})
    expect(dealTimers(dropped.snapshot)).toEqual({})

    // settled already (an equivocation settles at once): nothing to mediate, and the same challenge again changes nothing
    const settled = drive(mediatorMachine, input, [ev.challenge, ev.observed('Settled', { outcome: 'MediationRejected' })])
    expect(settled.last).toEqual([])
    expect(settled.snapshot.context.mediations[s.dealId]!.state).toBe('settled')
    expect(dealTimers(settled.snapshot)).toEqual({})
    expect(step(mediatorMachine, settled.snapshot, ev.challenge).outputs).toEqual([])
  })

  test('a deal made up between two throwaway keys, challenged on the wire only, buys no re-run however long it is pressed', () => {
    let r = drive(mediatorMachine, input, [ev.challenge])
    const runs: string[] = []
    for (let at = T0 + 4; at <= s.deal.judgeDeadline + CONFIRM_GRACE_MS + CONFIRM_RETRY_MS; at += CONFIRM_RETRY_MS) {
      const read = r.snapshot.context.deadlines[`confirm:${s.dealId}`]
      const observed = step(mediatorMachine, r.snapshot, { type: 'chain.observed', effect: `confirm:${s.dealId}:${at}`, dealId: s.dealId, state: 'JobOffered', at })
      runs.push(...observed.outputs.filter(o => o.type === 'job.run').map(o => o.id))
      r = { ...r, snapshot: observed.snapshot }
      if (read === undefined && r.snapshot.context.mediations[s.dealId] === undefined) break
      const fired = step(mediatorMachine, r.snapshot, timer(`confirm:${s.dealId}`, r.snapshot.context.deadlines[`confirm:${s.dealId}`] ?? at))
      r = { ...r, snapshot: fired.snapshot }
    }
    expect(runs).toEqual([])
    expect(r.snapshot.context.mediations).toEqual({})
  })

  test('made-up challenges sent in bulk take none of the capacity re-runs need, and the reads they cause stay bounded', () => {
    const made = Array.from({ length: MAX_CONFIRMING + 1 }, (_, i) => scenario({ job: { nonce: String(100 + i) } }))
    const flood = made.map((o, i) => received(o.challenged, T0 + 4 + i, [o.dealEnv, o.results, o.jobEnv]))
    const flooded = drive(mediatorMachine, { ...input, capacity: 1 }, flood)
    // bounded: the one waiting longest made way for the newest
    const waiting = Object.keys(flooded.snapshot.context.mediations)
    expect(waiting).toHaveLength(MAX_CONFIRMING)
    expect(waiting).not.toContain(made[0]!.dealId)
    expect(waiting).toContain(made[MAX_CONFIRMING]!.dealId)
    // an honest challenge that comes now is taken, and mediated once the chain shows it
    const at = T0 + 4 + MAX_CONFIRMING + 1
    const honest = step(mediatorMachine, flooded.snapshot, { ...ev.challenge, at })
    const onChain: InputEvent = { type: 'chain.observed', effect: `confirm:${s.dealId}:${at}`, dealId: s.dealId, state: 'Mediating', mediator: parties.mediator.address, at: at + 1 }
    expect(step(mediatorMachine, honest.snapshot, onChain).outputs.map(o => o.type)).toEqual(['job.prepare'])
  })

  test('when the chain cannot be read, the challenge waits: it is read again, and never mediated unread', () => {
    const failed = (read: number, at: number): InputEvent => ({ type: 'effect.failed', effect: `confirm:${s.dealId}:${read}`, error: 'CHAIN_UNAVAILABLE', at })
    const r = drive(mediatorMachine, input, [ev.challenge, failed(T0 + 4, T0 + 5)])
    expect(r.last).toEqual([])
    expect(dealTimers(r.snapshot)).toEqual({ [`confirm:${s.dealId}`]: T0 + 5 + CONFIRM_RETRY_MS })
    const late = drive(mediatorMachine, input, [{ ...ev.challenge, at: s.deal.judgeDeadline + 1 }, failed(s.deal.judgeDeadline + 1, s.deal.judgeDeadline + CONFIRM_GRACE_MS + 1)])
    expect(late.last).toEqual([])
    expect(late.snapshot.context.mediations).toEqual({})
  })

  test('a job that cannot run here is given up before the case is taken: the mediator does not answer for it', () => {
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, { ...prepared, ok: false, failure: 'ERR_GPU_UNAVAILABLE', reason: 'no GPU here' }])
    expect(r.last).toEqual([expect.objectContaining({ type: 'deal.declined', dealId: s.dealId, reason: expect.stringContaining('ERR_GPU_UNAVAILABLE: no GPU here') })])
    expect(r.last.map(o => o.type)).not.toContain('chain.takeCase')
    expect(r.snapshot.context.mediations[s.dealId]!.state).toBe('declined')
    expect(dealTimers(r.snapshot)).toEqual({})
    // a preparation that never ends is cut short by the mediate deadline
    const slow = drive(mediatorMachine, input, [ev.challenge, mediating, timer(`mediate:${s.dealId}`, s.deal.mediateDeadline)])
    expect(slow.snapshot.context.mediations[s.dealId]!.state).toBe('missed')
  })

  test('a case it could not take on chain is given up: no verdict would settle it', () => {
    const r = drive(mediatorMachine, input, [ev.challenge, mediating, prepared, { type: 'effect.failed', effect: `take:${s.dealId}`, error: 'DEADLINE_PASSED', at: T0 + 6 }])
    expect(r.last).toEqual([expect.objectContaining({ type: 'deal.declined', dealId: s.dealId, reason: expect.stringContaining('DEADLINE_PASSED') })])
    expect(r.snapshot.context.mediations[s.dealId]!.state).toBe('declined')
    expect(dealTimers(r.snapshot)).toEqual({})
    // the re-run that finishes after cannot bring a verdict back
    expect(step(mediatorMachine, r.snapshot, { ...ev.rerun(s.cid), at: T0 + 7 }).outputs.map(o => o.type)).toEqual(['input.rejected'])
  })

  test('the same challenge twice (from the creator, and passed on by the provider) is one mediation', () => {
    const r = drive(mediatorMachine, input, [ev.challenge])
    const again = step(mediatorMachine, r.snapshot, ev.challenge)
    expect(again.outputs).toEqual([])
    expect(again.snapshot.context).toEqual(r.snapshot.context)
  })

  test('property: rejected inputs change nothing and a replay reproduces the run', () => {
    const events = fc.constantFrom<InputEvent>(ev.challenge, mediating, prepared, ev.observed('Settled', { outcome: 'MediationRejected' }), ev.fetched(true), ev.fetched(false), ev.rerun(s.cid), ev.rerun(s.otherCid),
      timer(`mediate:${s.dealId}`, s.deal.mediateDeadline), { type: 'noise', at: T0 })
    assertReplayProperty(mediatorMachine, input, events)
  })
})
