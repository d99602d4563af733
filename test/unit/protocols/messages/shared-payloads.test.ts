import { beforeEach, describe, expect, test } from 'vitest'
import { Messages, type Envelope, type MessageError } from '../../../../src/protocols/messages/index.ts'
import { domain, scenario, T0 } from '../../state-machines/fixtures.ts'

const s = scenario()

/** a simulation's messages, new for each test; `off` is a node's */
let on = new Messages({ sharedPayloads: true })
let off = new Messages()
beforeEach(() => {
  on = new Messages({ sharedPayloads: true })
  off = new Messages()
})

function codeOf (fn: () => unknown): string | undefined {
  try { fn() } catch (err) { return (err as MessageError).code }
  return undefined
}

/** A deep copy, so that nothing is known of it by identity. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T

/** An envelope as the simulator sends it: frozen, around the shared payload of its message. */
function frozenEnvelope<E extends Envelope> (envelope: E): E {
  const message = on.parse(envelope.type, copy(envelope.message))
  return Object.freeze({ type: envelope.type, message, signatures: Object.freeze([...envelope.signatures]) }) as E
}

describe('shared payloads (a simulation\'s Messages; a node\'s keeps them off)', () => {
  test('off: every parse hands out a payload of its own', () => {
    const a = off.parse('JobOffer', copy(s.job))
    const b = off.parse('JobOffer', copy(s.job))
    expect(a).not.toBe(b)
    expect(Object.isFrozen(a)).toBe(false)
  })

  test('on: a deeply frozen payload, the same whatever form the message came in, known by identity when it comes back', () => {
    const before = off.checked(domain, 'JobOffer', copy(s.job))
    const a = on.checked(domain, 'JobOffer', copy(s.job))
    const b = on.checked(domain, 'JobOffer', { ...copy(s.job), author: s.job.author.toLowerCase() })
    expect(b.payload).toEqual(a.payload)
    expect(b.id).toBe(a.id)
    expect(a.payload).toEqual(before.payload)
    expect(a.id).toBe(before.id)
    expect(Object.isFrozen(a.payload)).toBe(true)
    expect(Object.isFrozen(a.payload.trustedSolvers)).toBe(true)
    // handed back by identity: the same payload and id
    expect(on.checked(domain, 'JobOffer', a.payload)).toEqual(a)
    expect(on.checked(domain, 'JobOffer', a.payload).payload).toBe(a.payload)
    expect(on.id(domain, 'JobOffer', a.payload)).toBe(before.id)
    // a payload of one type is not taken for another
    expect(codeOf(() => on.parse('ResourceOffer', a.payload as never))).toBe('INVALID_SCHEMA')
    // a node's Messages knows nothing of another's payloads
    expect(off.parse('JobOffer', a.payload)).not.toBe(a.payload)
  })

  test('on: a shared payload stays a plain record, known only to the Messages that shared it', () => {
    const a = on.parse('JobOffer', copy(s.job))
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype)
    expect(Object.keys(a)).toEqual(Object.keys(off.parse('JobOffer', copy(s.job))))
    expect(JSON.stringify(a)).toBe(JSON.stringify(off.parse('JobOffer', copy(s.job))))
    // another simulation's Messages hands out a payload of its own for it, and knows that one
    const other = new Messages({ sharedPayloads: true })
    const b = other.parse('JobOffer', a)
    expect(b).not.toBe(a)
    expect(b).toEqual(a)
    expect(other.parse('JobOffer', b)).toBe(b)
    expect(on.parse('JobOffer', a)).toBe(a)
  })

  test('on: a frozen envelope is verified once, and its expiry still checked each time', () => {
    const env = frozenEnvelope(s.accepted)
    const first = on.verify(domain, env)
    expect(on.verify(domain, env)).toBe(first)
    expect(first).toEqual(on.verify(domain, copy(s.accepted)))
    expect(codeOf(() => on.verify(domain, env, { now: s.accepted.message.expiry + 1 }))).toBe('EXPIRED')
    expect(on.verify(domain, env, { now: T0 })).toBe(first)
    // the verified envelope is the frozen one itself, so a node that keeps it finds the check again
    expect(first.envelope).toBe(env)
    expect(on.verify(domain, first.envelope)).toBe(first)
    const plain = on.verify(domain, copy(s.accepted))
    expect(plain.envelope).toEqual(env)
    expect(Object.isFrozen(plain.envelope)).toBe(false)
  })

  test('on: a frozen envelope that fails is refused every time, with the same code as a plain copy', () => {
    const wrongSigner = frozenEnvelope({ ...s.accepted, signatures: s.results.signatures })
    const missing = frozenEnvelope({ ...s.dealEnv, signatures: s.halfSigned.signatures })
    for (let i = 0; i < 2; i++) {
      expect(codeOf(() => on.verify(domain, wrongSigner))).toBe('WRONG_SIGNER')
      expect(codeOf(() => on.verify(domain, missing))).toBe('MISSING_SIGNATURE')
    }
    expect(on.verify(domain, missing, { partial: true }).signers).toEqual([s.deal.jobCreator])
    expect(codeOf(() => on.verify(domain, copy(missing)))).toBe('MISSING_SIGNATURE')
  })

  test('on: an envelope made by shareEnvelope keeps its own verifications, full and partial apart, and failures are not kept', () => {
    const deal = on.share({ type: 'Deal' as const, message: on.parse('Deal', copy(s.deal)), signatures: [...s.halfSigned.signatures] })
    expect(Object.isFrozen(deal) && Object.isFrozen(deal.signatures)).toBe(true)
    for (let i = 0; i < 2; i++) expect(codeOf(() => on.verify(domain, deal))).toBe('MISSING_SIGNATURE')
    const partial = on.verify(domain, deal, { partial: true })
    expect(on.verify(domain, deal, { partial: true })).toBe(partial)
    expect(partial.signers).toEqual([s.deal.jobCreator])
    const signed = on.share({ type: 'Deal' as const, message: deal.message, signatures: [...s.dealEnv.signatures] })
    expect(on.verify(domain, signed)).toBe(on.verify(domain, signed))
    expect(on.verify(domain, signed)).toEqual(on.verify(domain, copy(s.dealEnv)))
    // what is kept on the payload and the envelope is seen by no copy, text or key list
    expect(Object.keys(deal)).toEqual(['type', 'message', 'signatures'])
    expect(JSON.parse(JSON.stringify(deal))).toEqual(copy(s.halfSigned))
    expect(Object.keys({ ...deal.message })).toEqual(Object.keys(s.deal))
    // an envelope frozen before it is shared is shared as a copy, which keeps its verifications as well
    const frozen: Envelope<'Deal'> = Object.freeze({ type: 'Deal' as const, message: deal.message, signatures: Object.freeze([...s.dealEnv.signatures]) as string[] })
    const again = on.share(frozen)
    expect(again).toEqual(frozen)
    expect(on.verify(domain, again)).toBe(on.verify(domain, again))
    expect(on.verify(domain, again).envelope).toBe(again)
  })

  test('on: an envelope around a shared payload still has its shape checked (only the payload\'s is known)', () => {
    const payload = on.parse('ResultsAccepted', copy(s.accepted.message))
    const around = (extra: object): unknown => ({ type: 'ResultsAccepted', message: payload, signatures: s.accepted.signatures, ...extra })
    const cases: Array<[string, object]> = [
      ['INVALID_SCHEMA', { extra: 1 }],
      ['MISSING_SIGNATURE', { signatures: ['0x1234'] }],
      ['MISSING_SIGNATURE', { signatures: [] }],
      ['UNKNOWN_TYPE', { type: 'Nonsense' }],
      ['INVALID_SCHEMA', { type: 'JobOffer' }]
    ]
    for (const [code, extra] of cases) {
      expect(codeOf(() => on.verify(domain, around(extra)))).toBe(code)
      expect(codeOf(() => on.verify(domain, Object.freeze(around(extra) as object)))).toBe(code)
      expect(codeOf(() => on.verify(domain, copy(around(extra))))).toBe(code)
    }
    expect(on.verify(domain, around({})).message).toEqual(payload)
  })
})
