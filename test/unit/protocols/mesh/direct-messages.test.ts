import { describe, expect, it } from 'vitest'
import { decodeDirectMessage, encodeDirectMessage, LATE_ALLOWANCE_MS } from '../../../../src/protocols/mesh/direct-messages.ts'
import { peerIdOfKey } from '../../../../src/protocols/mesh/peer-identity.ts'
import { DEAL_DELIVERY_GRACE_MS, lilypadDomain } from '../../../../src/protocols/messages/index.ts'
import { domainJson, parties, scenario } from '../../state-machines/fixtures.ts'
import { signCheckpoint } from '../../../../src/actors/eventlog/checkpoint.ts'

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

  it('refuse a message that expired a little (in transit, by clock skew) as late, which costs its sender nothing; one far older is invalid', () => {
    const frame = encodeDirectMessage({ envelope: s.results })
    const expiry = (s.results.message as { expiry: number }).expiry
    const code = (at: number): unknown => { try { decodeDirectMessage(domain, frame, provider, at) } catch (err) { return (err as { code?: string }).code } return 'taken' }
    expect(code(expiry + 1)).toBe('EXPIRED_MESSAGE')
    expect(code(expiry + LATE_ALLOWANCE_MS)).toBe('EXPIRED_MESSAGE')
    expect(code(expiry + LATE_ALLOWANCE_MS + 1)).toBe('INVALID_MESSAGE')
  })

  it('give no grace to other messages', () => {
    const frame = encodeDirectMessage({ envelope: s.results })
    const expiry = (s.results.message as { expiry: number }).expiry
    expect(decodeDirectMessage(domain, frame, provider, expiry).verified.type).toBe('ResultsSubmitted')
    expect(() => decodeDirectMessage(domain, frame, provider, expiry + 1)).toThrow(/EXPIRED/)
  })

  it('take another\'s message about a deal only from a party of that deal, with the deal both signed attached', () => {
    const at = s.deal.agreeDeadline
    const stranger = peerIdOfKey(parties.stranger.privateKey)
    // the provider brings the creator's challenge to the mediator, as the creator may tell no one
    const forwarded = decodeDirectMessage(domain, encodeDirectMessage({ envelope: s.challenged, attachments: [s.dealEnv, s.results, s.jobEnv] }), provider, at)
    expect(forwarded.verified.type).toBe('ResultsChallenged')
    expect(forwarded.address).toBe(parties.resourceProvider.address)
    // not without the deal, not with the deal signed by the creator alone, not from someone else
    expect(() => decodeDirectMessage(domain, encodeDirectMessage({ envelope: s.challenged, attachments: [s.results] }), provider, at)).toThrow(/who did not sign it/)
    expect(() => decodeDirectMessage(domain, encodeDirectMessage({ envelope: s.challenged, attachments: [s.halfSigned] }), provider, at)).toThrow(/who did not sign it/)
    expect(() => decodeDirectMessage(domain, encodeDirectMessage({ envelope: s.challenged, attachments: [s.dealEnv] }), stranger, at)).toThrow(/who did not sign it/)
    // a message about another deal is not passed on with this one
    const other = scenario({ proposal: { nonce: '8' } })
    expect(() => decodeDirectMessage(domain, encodeDirectMessage({ envelope: other.challenged, attachments: [s.dealEnv] }), provider, at)).toThrow(/who did not sign it/)
  })

  it('carry the sender\'s log head under its own key: a head signed by another, or not a head, refuses the frame', () => {
    const expiry = (s.results.message as { expiry: number }).expiry
    const signer = (w: typeof parties.resourceProvider) => ({ address: w.address, signDigest: (d: string) => w.signingKey.sign(d).serialized })
    const head = signCheckpoint(signer(parties.resourceProvider), 42, 'ab'.repeat(32))
    const taken = decodeDirectMessage(domain, encodeDirectMessage({ envelope: s.results, head }), provider, expiry)
    expect(taken.head).toEqual(head)
    expect(decodeDirectMessage(domain, encodeDirectMessage({ envelope: s.results }), provider, expiry).head).toBeUndefined()
    const forged = signCheckpoint(signer(parties.stranger), 42, 'ab'.repeat(32))
    expect(() => decodeDirectMessage(domain, encodeDirectMessage({ envelope: s.results, head: forged }), provider, expiry)).toThrow(/not signed by the sending peer/)
    expect(() => decodeDirectMessage(domain, encodeDirectMessage({ envelope: s.results, head: { ...forged, signer: parties.resourceProvider.address } }), provider, expiry)).toThrow(/not signed by the sending peer/)
    expect(() => decodeDirectMessage(domain, encodeDirectMessage({ envelope: s.results, head: { ...head, seq: 0 } }), provider, expiry)).toThrow(/not a signed head/)
  })
})
