import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { fastParseOf as compileFastParse, strictObjectPath } from '../../../../src/protocols/messages/fast-parse.ts'
import * as fields from '../../../../src/protocols/messages/fields.ts'
import { EnvelopeSchema, KnownPayloadEnvelopeSchema } from '../../../../src/protocols/messages/envelope.ts'
import { MessageError } from '../../../../src/protocols/messages/errors.ts'
import { MESSAGE_SCHEMAS, type MessagePayloads } from '../../../../src/protocols/messages/schemas.ts'
import { parsePayload } from '../../../../src/protocols/messages/signing.ts'
import type { MessageType } from '../../../../src/protocols/messages/eip712-types.ts'
import { scenario } from '../../state-machines/fixtures.ts'

const s = scenario()
const VALID: Partial<Record<MessageType, object>> = {
  JobOffer: s.job,
  ResourceOffer: s.offer,
  MatchProposal: s.prop,
  Deal: s.deal,
  ResultsSubmitted: s.results.message,
  ResultsAccepted: s.accepted.message,
  ResultsChallenged: s.challenged.message,
  MediationVerdict: s.verdict(true).message,
  MediatorAnnouncement: { author: s.job.author, nonce: '1', expiry: 5, fee: '10', capacity: 3, multiaddrs: ['/ip4/1.2.3.4/tcp/1'] }
}

/** Values that sit on or across the edges of the schemas' checks. */
const tricky: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    '', '0', '00', '01', '1e3', '0x10', ' 5', '-1', 'abc', '9'.repeat(30), '1' + '0'.repeat(30), '1' + '0'.repeat(30) + '1',
    '9'.repeat(78), '1'.repeat(79), '0x' + 'ab'.repeat(20), '0x' + 'AB'.repeat(20), '0x' + 'aB'.repeat(20), '0x' + 'ab'.repeat(32),
    '0x' + 'AB'.repeat(32), 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', 'x'.repeat(257),
    0, -0, 1, -1, 1.5, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity, -Infinity,
    null, undefined, true, false, [], [''], {}, { a: 1 }
  ),
  fc.string({ maxLength: 80 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.constantFrom('0x' + 'ab'.repeat(20), s.job.author, s.job.author.toLowerCase(), '', 'x'), { maxLength: 40 })
)

type Mutation = { kind: 'set', key: string, value: unknown } | { kind: 'delete', key: string } | { kind: 'add', key: string, value: unknown }

function mutate (message: object, m: Mutation): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(message)) as Record<string, unknown>
  if (m.kind === 'delete') delete copy[m.key]
  else copy[m.key] = m.value
  return copy
}

/**
 * Mutates a valid value (sets a key to an edge value, deletes one, adds one) and asserts that
 * whatever the fast path accepts, zod accepts with the same output; returns how many it accepted.
 */
function holdsToZod (schema: z.ZodType, valid: object, values: fc.Arbitrary<unknown>, addedKeys: string[], maxMutations: number): number {
  const fast = compileFastParse(schema)!
  const keys = Object.keys(valid)
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...keys), value: values }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...keys) }),
    fc.record({ kind: fc.constant('add' as const), key: fc.constantFrom(...addedKeys), value: values })
  )
  let accepted = 0
  fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: maxMutations }), mutations => {
    const input = mutations.reduce<object>((m, x) => mutate(m, x), valid)
    let zod: { success: boolean, data?: unknown }
    try {
      zod = schema.safeParse(input)
    } catch {
      zod = { success: false }
    }
    const out = fast(input)
    if (out !== undefined) {
      accepted++
      expect(zod.success).toBe(true)
      expect(JSON.stringify(out)).toBe(JSON.stringify(zod.data))
    }
  }), { numRuns: 400 })
  return accepted
}

describe('the fast parse path', () => {
  test('every message type has one', () => {
    const declared = Object.entries(MESSAGE_SCHEMAS).filter(([, schema]) => compileFastParse(schema) !== null).map(([type]) => type)
    expect(declared).toEqual(Object.keys(MESSAGE_SCHEMAS))
  })

  test('an object with a `__proto__` field, or a field without a fast path, gets none (its parser builds objects from literals)', () => {
    const shape = MESSAGE_SCHEMAS.ResultsAccepted.shape
    expect(strictObjectPath(shape)).not.toBeNull()
    expect(strictObjectPath({ ...shape, ['__proto__']: shape.author })).toBeNull()
    expect(strictObjectPath({ ...shape, extra: z.string() })).toBeNull()
  })

  for (const [type, valid] of Object.entries(VALID) as Array<[MessageType, object]>) {
    test(`${type}: accepts the valid message with zod's output, key order included`, () => {
      const fast = compileFastParse(MESSAGE_SCHEMAS[type])!
      const parsed = fast(JSON.parse(JSON.stringify(valid)))
      expect(parsed).toBeDefined()
      expect(JSON.stringify(parsed)).toBe(JSON.stringify(MESSAGE_SCHEMAS[type].parse(valid)))
    })

    test(`${type}: whatever it accepts, zod accepts with the same output`, () => {
      // some mutations keep a message valid (a set to an equally valid value): the property is not vacuous
      expect(holdsToZod(MESSAGE_SCHEMAS[type], valid, tricky, ['extra', '__proto__', 'constructor'], 3)).toBeGreaterThan(0)
    })
  }
})

describe('the fast parse path of an envelope around a known payload', () => {
  test('compiles (the plain envelope, whose message is a record, is zod\'s alone)', () => {
    expect(compileFastParse(KnownPayloadEnvelopeSchema)).not.toBeNull()
    expect(compileFastParse(EnvelopeSchema)).toBeNull()
  })

  test('whatever it accepts, zod accepts with the same output', () => {
    const fast = compileFastParse(KnownPayloadEnvelopeSchema)!
    const valid = s.accepted
    expect(JSON.stringify(fast(JSON.parse(JSON.stringify(valid))))).toBe(JSON.stringify(KnownPayloadEnvelopeSchema.parse(valid)))
    const values = fc.oneof(tricky, fc.constantFrom('Deal', 'JobOffer', 'Nonsense', [s.accepted.signatures[0]], [...s.dealEnv.signatures, s.dealEnv.signatures[0]]))
    expect(holdsToZod(KnownPayloadEnvelopeSchema, valid, values, ['extra', '__proto__'], 2)).toBeGreaterThan(0)
  })
})

describe('amounts', () => {
  test('a malformed amount is refused as a schema error, not thrown while its size is checked', () => {
    for (const price of ['abc', '1e3', '9'.repeat(77) + 'x']) {
      const err = (() => { try { parsePayload('JobOffer', { ...s.job, maxPrice: price } as MessagePayloads['JobOffer']) } catch (e) { return e } })()
      expect(err).toBeInstanceOf(MessageError)
      expect((err as MessageError).code).toBe('INVALID_SCHEMA')
    }
  })
})

describe('the hand-written fast paths of addresses and 32-byte values', () => {
  const lower = s.job.author.toLowerCase()
  const badChecksum = s.job.author.slice(0, 2) + [...s.job.author.slice(2)].map(c => c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()).join('')
  const fast = compileFastParse(MESSAGE_SCHEMAS.ResultsChallenged)!
  const challenge = (fields: object): unknown => fast({ ...s.challenged.message, ...fields })

  test('an address is normalised to its checksum, the first time and again (from the memo)', () => {
    const fresh = '0x' + 'c0ffee'.repeat(6) + 'c0ff'
    for (let i = 0; i < 2; i++) {
      expect((challenge({ author: fresh }) as { author: string }).author).toBe(MESSAGE_SCHEMAS.ResultsChallenged.parse({ ...s.challenged.message, author: fresh }).author)
      expect((challenge({ author: lower }) as { author: string }).author).toBe(s.job.author)
    }
  })

  test('a wrong checksum, a wrong length or a non-string is left to zod, before and after zod met it', () => {
    expect(badChecksum).not.toBe(s.job.author)
    for (let i = 0; i < 2; i++) {
      for (const author of [badChecksum, lower + '0', lower.slice(0, -1), 42, null]) {
        expect(challenge({ author })).toBeUndefined()
        expect(MESSAGE_SCHEMAS.ResultsChallenged.safeParse({ ...s.challenged.message, author }).success).toBe(false)
      }
    }
  })

  test('32-byte values are lower-cased; any other length or character is left to zod', () => {
    const upper = s.challenged.message.dealId.toUpperCase().replace('0X', '0x')
    expect((challenge({ dealId: upper }) as { dealId: string }).dealId).toBe(s.challenged.message.dealId.toLowerCase())
    for (const dealId of [upper + '0', upper.slice(0, -1), upper.replace(/.$/, 'g'), 7]) expect(challenge({ dealId })).toBeUndefined()
  })
})

describe('the hand-written fast paths of the field kinds', () => {
  const kinds: Array<[string, z.ZodType]> = [
    ['uint256', fields.uint256], ['wei', fields.wei], ['millis', fields.millis], ['uint32', fields.uint32], ['int32', fields.int32],
    ['cid', fields.cid], ['bytes32', fields.bytes32], ['address', fields.address], ['boundedString(5)', fields.boundedString(5)]
  ]
  const edges: unknown[] = [
    '', '0', '00', '01', '1', '1e3', ' 5', '-1', '+1', '9'.repeat(30), '1' + '0'.repeat(30), '1' + '0'.repeat(29), '9'.repeat(78),
    '115792089237316195423570985008687907853269984665640564039457584007913129639935', // 2^256 - 1
    '115792089237316195423570985008687907853269984665640564039457584007913129639936', // 2^256
    '1'.repeat(79), 'abc', 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', 'Qm-x', 'x'.repeat(128), 'x'.repeat(129), 'abcde', 'abcdef',
    '0x' + 'ab'.repeat(32), '0x' + 'AB'.repeat(32), '0x' + 'ab'.repeat(31), s.job.author, s.job.author.toLowerCase(),
    0, -0, 1, -1, 1.5, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1, NaN, Infinity, -Infinity, null, undefined, true, [], {}, 5n
  ]
  test.each(kinds)('%s: accepts exactly what zod accepts, with zod\'s output', (_, schema) => {
    const fast = compileFastParse(schema)!
    expect(fast).not.toBeNull()
    for (const value of edges) {
      const zod = schema.safeParse(value)
      const out = fast(value)
      expect(out, String(value)).toEqual(zod.success ? zod.data : undefined)
    }
  })
})
