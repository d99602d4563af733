import { describe, expect, it } from 'vitest'
import { MAX_WIRE_DEPTH, nestsDeeperThan } from '../../../../src/protocols/messages/json-depth.ts'
import { decodeAndVerify, encodeEnvelope } from '../../../../src/protocols/messages/codec.ts'
import { decodeDirectMessage, encodeDirectMessage } from '../../../../src/protocols/mesh/direct-messages.ts'
import { peerIdOfKey } from '../../../../src/protocols/mesh/peer-identity.ts'
import { domain, parties, scenario, T0 } from '../../state-machines/fixtures.ts'

const encoder = new TextEncoder()
const s = scenario()

describe('JSON nesting, measured before a frame is parsed', () => {
  it('counts arrays and objects, and skips brackets inside strings, escaped quotes included', () => {
    expect(nestsDeeperThan('[[1]]', 2)).toBe(false)
    expect(nestsDeeperThan('[[[1]]]', 2)).toBe(true)
    expect(nestsDeeperThan('{"a":{"b":[]}}', 3)).toBe(false)
    expect(nestsDeeperThan('{"a":{"b":[{}]}}', 3)).toBe(true)
    expect(nestsDeeperThan('["[[[[", "\\"[[[[", "\\\\"]', 1)).toBe(false)
    expect(nestsDeeperThan('["\\\\", [[]]]', 2)).toBe(true)
  })

  // found by `npm run fuzz` (targets envelope and direct-frame): a frame nested a few thousand deep
  // parsed, then overflowed the stack of the checks after it, with a RangeError no caller expected
  it('refuses a gossiped envelope nested deeper than the wire allows, as malformed, not with a stack overflow', () => {
    const deep = encoder.encode(`{"type":"JobOffer","message":${'['.repeat(5000)}1${']'.repeat(5000)},"signatures":[]}`)
    expect(() => decodeAndVerify(domain, deep)).toThrow(expect.objectContaining({ code: 'MALFORMED_ENCODING', message: expect.stringContaining(`nested deeper than ${MAX_WIRE_DEPTH}`) }))
    // every real message is well within it
    for (const envelope of [s.jobEnv, s.offerEnv, s.propEnv, s.dealEnv, s.results, s.verdict(true)]) {
      expect(nestsDeeperThan(new TextDecoder().decode(encodeEnvelope(envelope)), MAX_WIRE_DEPTH)).toBe(false)
    }
  })

  it('refuses a direct frame nested deeper than the wire allows, as an invalid message', () => {
    const peer = peerIdOfKey(parties.resourceProvider.privateKey)
    const deep = encoder.encode(`{"envelope":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`)
    expect(() => decodeDirectMessage(domain, deep, peer, T0)).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE', message: expect.stringContaining('nested deeper') }))
    const frame = encodeDirectMessage({ envelope: s.challenged, attachments: [s.dealEnv, s.results, s.jobEnv] })
    expect(nestsDeeperThan(new TextDecoder().decode(frame), MAX_WIRE_DEPTH)).toBe(false)
  })
})
