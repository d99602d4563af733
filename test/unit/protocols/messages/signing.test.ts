import { describe, expect, test } from 'vitest'
import { Wallet } from 'ethers'
import {
  decodeAndVerify, DealSchema, EIP712_TYPES, encodeEnvelope, encodeTypeString, lilypadDomain, MAX_ENCODED_SIZE,
  MESSAGE_SCHEMAS, MESSAGE_TYPES, messageId, parsePayload, signMessage, verifyEnvelope, type MessageError
} from '../../../../src/protocols/messages/index.ts'
import { domain, parties, scenario, T0 } from '../../state-machines/fixtures.ts'

const s = scenario()

function codeOf (fn: () => unknown): string | undefined {
  try { fn() } catch (err) { return (err as MessageError).code }
  return undefined
}

describe('EIP-712 types and schemas', () => {
  test('every message type has a schema with exactly the fields its EIP-712 struct signs', () => {
    for (const type of MESSAGE_TYPES) {
      const schema = MESSAGE_SCHEMAS[type] as unknown as { shape?: Record<string, unknown>, def: { in?: { shape: Record<string, unknown> } } }
      const shape = schema.shape ?? schema.def.in?.shape
      expect(Object.keys(shape ?? {}).sort(), type).toEqual(EIP712_TYPES[type].map(f => f.name).sort())
    }
  })

  test('every message but Deal carries author, nonce and expiry; Deal carries its two parties', () => {
    for (const type of MESSAGE_TYPES) {
      const names = EIP712_TYPES[type].map(f => f.name)
      if (type === 'Deal') expect(names).toEqual(expect.arrayContaining(['jobCreator', 'resourceProvider', 'nonce', 'expiry']))
      else expect(names.slice(0, 3)).toEqual(['author', 'nonce', 'expiry'])
    }
  })

  test('the struct string the contract hashes is stable', () => {
    expect(encodeTypeString('ResultsAccepted')).toBe('ResultsAccepted(address author,uint256 nonce,uint64 expiry,bytes32 dealId,string resultsCid)')
  })

  test('the id is the EIP-712 hash and does not depend on key order or address case', () => {
    const m = s.accepted.message
    const shuffled = { resultsCid: m.resultsCid, dealId: m.dealId, expiry: m.expiry, nonce: m.nonce, author: m.author.toLowerCase() }
    expect(messageId(domain, 'ResultsAccepted', shuffled)).toBe(messageId(domain, 'ResultsAccepted', m))
    expect(verifyEnvelope(domain, s.accepted).id).toBe(messageId(domain, 'ResultsAccepted', m))
  })

  test('the id changes with the domain (chain id, contract)', () => {
    const other = lilypadDomain(1n, domain.verifyingContract)
    expect(messageId(other, 'ResultsAccepted', s.accepted.message)).not.toBe(messageId(domain, 'ResultsAccepted', s.accepted.message))
  })

  test('parsing and hashing again (memoised by content) give the same answers, and a fresh payload each time', () => {
    const m = { ...s.accepted.message, author: s.accepted.message.author.toLowerCase() }
    const first = parsePayload('ResultsAccepted', m)
    const again = parsePayload('ResultsAccepted', m)
    expect(again).toEqual(first)
    expect(again).not.toBe(first)
    expect(again.author).toBe(s.accepted.message.author)
    first.resultsCid = 'bafkchanged'
    expect(parsePayload('ResultsAccepted', m).resultsCid).toBe(m.resultsCid)
    expect(messageId(domain, 'ResultsAccepted', first)).not.toBe(messageId(domain, 'ResultsAccepted', again))
    expect(codeOf(() => parsePayload('ResultsAccepted', { ...m, resultsCid: '' }))).toBe('INVALID_SCHEMA')
  })
})

describe('schema bounds', () => {
  test.each([
    ['negative amount', { maxPrice: '-1' }],
    ['amount with leading zero', { maxPrice: '01' }],
    ['amount beyond the bound', { maxPrice: '1' + '0'.repeat(40) }],
    ['fractional cpu', { cpu: 1.5 }],
    ['cpu beyond uint32', { cpu: 2 ** 32 }],
    ['too many trusted mediators', { trustedMediators: Array.from({ length: 33 }, () => parties.mediator.address) }],
    ['no trusted solver', { trustedSolvers: [] }],
    ['oversized inputs', { inputs: 'x'.repeat(16 * 1024 + 1) }],
    ['bad address', { author: '0x1234' }],
    ['bad spec hash', { specHash: '0x12' }],
    ['collateral below max price and fee', { paymentCollateral: '5' }]
  ])('a job offer with %s is rejected with INVALID_SCHEMA', (_, override) => {
    expect(codeOf(() => signMessage(parties.jobCreator, domain, 'JobOffer', { ...s.job, ...override } as never))).toBe('INVALID_SCHEMA')
  })

  test('an unknown field is rejected: it would travel unsigned', () => {
    const env = { ...s.accepted, message: { ...s.accepted.message, extra: 1 } }
    expect(codeOf(() => verifyEnvelope(domain, env))).toBe('INVALID_SCHEMA')
  })

  test('a deal whose collateral does not cover price and fees, or whose deadlines are out of order, is invalid', () => {
    expect(DealSchema.safeParse({ ...s.deal, paymentCollateral: '10' }).success).toBe(false)
    expect(DealSchema.safeParse({ ...s.deal, judgeDeadline: s.deal.submitDeadline - 1 }).success).toBe(false)
    expect(DealSchema.safeParse(s.deal).success).toBe(true)
  })
})

describe('signatures', () => {
  test('a signed message verifies and names its author', () => {
    const v = verifyEnvelope(domain, s.results, { now: T0 })
    expect(v.signers).toEqual([parties.resourceProvider.address])
  })

  test('a message signed by another key is rejected with WRONG_SIGNER', () => {
    const forged = signMessage(parties.stranger, domain, 'ResultsAccepted', { ...s.accepted.message, author: parties.stranger.address })
    const claimed = { ...forged, message: s.accepted.message }
    expect(codeOf(() => verifyEnvelope(domain, claimed))).toBe('WRONG_SIGNER')
  })

  test('signing for someone else is refused', () => {
    expect(codeOf(() => signMessage(parties.stranger, domain, 'ResultsAccepted', s.accepted.message))).toBe('WRONG_SIGNER')
  })

  test('a tampered field is rejected with WRONG_SIGNER', () => {
    const tampered = { ...s.results, message: { ...s.results.message, exitCode: 1 } }
    expect(codeOf(() => verifyEnvelope(domain, tampered))).toBe('WRONG_SIGNER')
  })

  test('a garbled signature is rejected with BAD_SIGNATURE', () => {
    const garbled = { ...s.results, signatures: ['0x' + '00'.repeat(65)] }
    expect(codeOf(() => verifyEnvelope(domain, garbled))).toBe('BAD_SIGNATURE')
  })

  test('an expired message is rejected with EXPIRED', () => {
    expect(codeOf(() => verifyEnvelope(domain, s.results, { now: s.results.message.expiry + 1 }))).toBe('EXPIRED')
    expect(codeOf(() => verifyEnvelope(domain, s.results, { now: s.results.message.expiry }))).toBeUndefined()
  })

  test('a deal needs both parties\' signatures, in order', () => {
    expect(verifyEnvelope(domain, s.dealEnv).signers).toEqual([parties.jobCreator.address, parties.resourceProvider.address])
    expect(codeOf(() => verifyEnvelope(domain, s.halfSigned))).toBe('MISSING_SIGNATURE')
    expect(verifyEnvelope(domain, s.halfSigned, { partial: true }).signers).toEqual([parties.jobCreator.address])
    const swapped = { ...s.dealEnv, signatures: [...s.dealEnv.signatures].reverse() }
    expect(codeOf(() => verifyEnvelope(domain, swapped))).toBe('WRONG_SIGNER')
    expect(codeOf(() => signMessage(parties.resourceProvider, domain, 'Deal', s.deal))).toBe('MISSING_SIGNATURE')
  })

  test('a message under another domain does not verify', () => {
    const other = lilypadDomain(1n, domain.verifyingContract)
    expect(codeOf(() => verifyEnvelope(other, s.results))).toBe('WRONG_SIGNER')
  })
})

describe('codec', () => {
  test('encodes and decodes a signed message', () => {
    const v = decodeAndVerify(domain, encodeEnvelope(s.dealEnv), { now: T0 })
    expect(v.id).toBe(s.dealId)
  })

  test('an oversized message is rejected with OVERSIZED, before parsing', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...s.accepted, padding: 'x'.repeat(MAX_ENCODED_SIZE.ResultsAccepted) }))
    expect(codeOf(() => decodeAndVerify(domain, bytes))).toBe('OVERSIZED')
    expect(codeOf(() => decodeAndVerify(domain, new Uint8Array(1024 * 1024)))).toBe('OVERSIZED')
  })

  test('an encoder will not produce an oversized message', () => {
    const big = { ...s.jobEnv, message: { ...s.jobEnv.message, inputs: 'x'.repeat(16 * 1024) } }
    const signed = signMessage(parties.jobCreator, domain, 'JobOffer', big.message)
    expect(encodeEnvelope(signed).byteLength).toBeLessThanOrEqual(MAX_ENCODED_SIZE.JobOffer)
    const tooBig = { ...s.results, message: { ...s.results.message, resultsCid: 'Q'.repeat(3000) } }
    expect(codeOf(() => encodeEnvelope(tooBig))).toBe('OVERSIZED')
  })

  test('bytes that are not JSON, or of an unknown type, are rejected with their codes', () => {
    expect(codeOf(() => decodeAndVerify(domain, new Uint8Array([0xff, 0xfe])))).toBe('MALFORMED_ENCODING')
    expect(codeOf(() => decodeAndVerify(domain, new TextEncoder().encode('{"type":"Nope"}')))).toBe('UNKNOWN_TYPE')
  })

  test('another wallet derived the same way verifies identically (no hidden state)', () => {
    const again = new Wallet(parties.jobCreator.privateKey)
    expect(signMessage(again, domain, 'ResultsAccepted', s.accepted.message)).toEqual(s.accepted)
  })
})
