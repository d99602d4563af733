import { describe, expect, it } from 'vitest'
import { decodeDirectMessage, encodeDirectMessage } from '../../../../src/protocols/mesh/direct-messages.ts'
import { peerIdOfKey } from '../../../../src/protocols/mesh/peer-identity.ts'
import { DEAL_DELIVERY_GRACE_MS, lilypadDomain } from '../../../../src/protocols/messages/index.ts'
import { domainJson, parties, scenario } from '../../state-machines/fixtures.ts'

const domain = lilypadDomain(BigInt(domainJson.chainId), domainJson.verifyingContract)
const s = scenario()
const provider = peerIdOfKey(parties.resourceProvider.privateKey)

describe('direct messages', () => {
  it('take a co-signed deal in the delivery grace after its expiry (the agree deadline), not after it', () => {
    const frame = encodeDirectMessage({ envelope: s.dealEnv })
    const justLate = decodeDirectMessage(domain, frame, provider, s.deal.agreeDeadline + DEAL_DELIVERY_GRACE_MS - 1)
    expect(justLate.verified.id).toBe(s.dealId)
    expect(() => decodeDirectMessage(domain, frame, provider, s.deal.agreeDeadline + DEAL_DELIVERY_GRACE_MS + 1)).toThrow(/EXPIRED/)
  })

  it('give no grace to other messages', () => {
    const frame = encodeDirectMessage({ envelope: s.results })
    const expiry = (s.results.message as { expiry: number }).expiry
    expect(decodeDirectMessage(domain, frame, provider, expiry).verified.type).toBe('ResultsSubmitted')
    expect(() => decodeDirectMessage(domain, frame, provider, expiry + 1)).toThrow(/EXPIRED/)
  })
})
