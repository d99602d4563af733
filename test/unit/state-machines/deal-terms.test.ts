import { describe, expect, test } from 'vitest'
import { verifyEnvelope } from '../../../src/protocols/messages/signing.ts'
import type { Verified } from '../../../src/protocols/messages/envelope.ts'
import type { Deal } from '../../../src/protocols/messages/schemas.ts'
import { buildDeal, dealTerms, expectDealOf } from '../../../src/state-machines/deal-terms.ts'
import { ProtocolViolation } from '../../../src/state-machines/rejection.ts'
import { domain, parties, scenario } from './fixtures.ts'

const s = scenario()
const job = verifyEnvelope(domain, s.jobEnv) as Verified<'JobOffer'>
const offer = verifyEnvelope(domain, s.offerEnv) as Verified<'ResourceOffer'>
const proposal = verifyEnvelope(domain, s.propEnv) as Verified<'MatchProposal'>

function codeOf (run: () => void): string | null {
  try {
    run()
    return null
  } catch (err) {
    if (err instanceof ProtocolViolation) return err.code
    throw err
  }
}

describe('the deal two offers and a proposal make', () => {
  test('its terms are copied in the schema\'s field order, so a checked deal compares with them field by field', () => {
    const built = buildDeal(job, offer, proposal)
    expect(Object.keys(dealTerms(job, offer, proposal))).toEqual(Object.keys(built))
    expect(dealTerms(job, offer, proposal)).toEqual(built)
    expect(built).toEqual(s.deal)
  })

  test('the deal itself is accepted, in the received form or as a copy', () => {
    expect(codeOf(() => expectDealOf(job, offer, proposal, s.deal))).toBeNull()
    expect(codeOf(() => expectDealOf(job, offer, proposal, structuredClone(s.deal)))).toBeNull()
  })

  const changes: Array<[keyof Deal, unknown]> = [
    ['resultsCollateral', '1'],
    ['price', '999'],
    ['submitDeadline', s.deal.submitDeadline + 1],
    ['mediators', [parties.otherMediator.address]],
    ['mediators', [...s.deal.mediators, parties.otherMediator.address]],
    ['mediators', []],
    ['nonce', '77']
  ]
  test.each(changes)('a deal with another %s is refused as INCONSISTENT', (field, value) => {
    const other = { ...s.deal, [field]: value } as Deal
    expect(codeOf(() => expectDealOf(job, offer, proposal, other))).toBe('INCONSISTENT')
  })

  test('a deal with its fields in another order is the same deal only if its JSON text is the same', () => {
    const { jobCreator, ...rest } = s.deal
    expect(codeOf(() => expectDealOf(job, offer, proposal, { ...rest, jobCreator } as Deal))).toBe('INCONSISTENT')
  })
})
