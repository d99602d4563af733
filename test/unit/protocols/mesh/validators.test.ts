import { describe, expect, test } from 'vitest'
import { encodeEnvelope, messageId } from '../../../../src/protocols/messages/index.ts'
import {
  GossipValidationAdapter, gossipTopic, MACHINE_TOPICS, MeshState, SeenCache, topicForMachineTopic, topicNameOf, type TopicName
} from '../../../../src/protocols/mesh/index.ts'
import { DEALS_TOPIC, JOB_OFFERS_TOPIC, RESOURCE_OFFERS_TOPIC, VERDICTS_TOPIC } from '../../../../src/state-machines/index.ts'
import { agreedDeal, domain, jobOffer, mediator, resourceOffer, verdict, wallet } from './fixtures.ts'

const NOW = 1_800_000_000_000
const alice = wallet(1)
const bob = wallet(2)

function adapter (): GossipValidationAdapter {
  return new GossipValidationAdapter({ domain, seen: new SeenCache(), state: new MeshState(), now: () => NOW })
}

function outcome (v: GossipValidationAdapter, topic: TopicName, bytes: Uint8Array, publisher: string | undefined): string {
  const o = v.validate(topic, bytes, publisher)
  return o.result === 'accept' ? 'accept' : `${o.result} ${o.code}`
}

describe('topics', () => {
  test('every topic a machine publishes on has a gossip topic', () => {
    for (const t of [JOB_OFFERS_TOPIC, RESOURCE_OFFERS_TOPIC, DEALS_TOPIC, VERDICTS_TOPIC]) expect(MACHINE_TOPICS[t]).toBeDefined()
    expect(topicForMachineTopic('devnet', RESOURCE_OFFERS_TOPIC)).toBe('/lilypad/devnet/resource-offers/1')
    expect(topicNameOf('devnet', gossipTopic('devnet', 'verdicts'))).toBe('verdicts')
    expect(topicNameOf('mainnet', gossipTopic('devnet', 'verdicts'))).toBeUndefined()
  })

  test('a network name that would break the topic grammar is refused', () => {
    expect(() => gossipTopic('a/b', 'deals')).toThrow(/BAD_OPTIONS/)
  })
})

describe('gossip validators, in order', () => {
  const offer = resourceOffer(alice, NOW)
  const bytes = encodeEnvelope(offer)

  test('a valid offer from its author is accepted once, then ignored as a duplicate', () => {
    const v = adapter()
    expect(outcome(v, 'resource-offers', bytes, alice.address)).toBe('accept')
    expect(outcome(v, 'resource-offers', bytes, alice.address)).toBe('ignore DUPLICATE')
    expect(v.countOf({ topic: 'resource-offers', result: 'accept' })).toBe(1)
  })

  test.each([
    ['oversized', () => new Uint8Array(25 * 1024), 'reject OVERSIZED'],
    ['not JSON', () => new TextEncoder().encode('{oops'), 'reject MALFORMED'],
    ['a job offer on the resource topic', () => encodeEnvelope(jobOffer(alice, NOW)), 'reject WRONG_TOPIC'],
    ['a schema violation', () => encodeEnvelope({ ...offer, message: { ...offer.message, cpu: -1 } }), 'reject INVALID_SCHEMA'],
    ['a signature by someone else', () => encodeEnvelope({ ...offer, signatures: resourceOffer(bob, NOW).signatures }), 'reject BAD_SIGNATURE'],
    ['a non-canonical encoding', () => new TextEncoder().encode(JSON.stringify(offer, null, 1)), 'reject NON_CANONICAL'],
    ['an author who is not the publisher', () => bytes, 'reject WRONG_AUTHOR', bob.address],
    ['an expired offer', () => encodeEnvelope(resourceOffer(alice, NOW - 120_000)), 'ignore EXPIRED']
  ])('%s: %s', (_, make, expected, publisher = alice.address) => {
    expect(outcome(adapter(), 'resource-offers', make(), publisher)).toBe(expected)
  })

  test('a forged copy does not mark the genuine message as seen', () => {
    const v = adapter()
    const forged = encodeEnvelope({ ...offer, signatures: resourceOffer(bob, NOW).signatures })
    expect(outcome(v, 'resource-offers', forged, alice.address)).toBe('reject BAD_SIGNATURE')
    expect(outcome(v, 'resource-offers', bytes, alice.address)).toBe('accept')
  })

  test('an older nonce of a held offer is ignored as superseded', () => {
    const v = adapter()
    expect(outcome(v, 'resource-offers', encodeEnvelope(resourceOffer(alice, NOW, { nonce: String(NOW + 5) })), alice.address)).toBe('accept')
    expect(outcome(v, 'resource-offers', encodeEnvelope(resourceOffer(alice, NOW, { nonce: String(NOW + 1) })), alice.address)).toBe('ignore SUPERSEDED')
  })

  test('offers a known deal took are live no more: not served to late joiners, and a copy that comes again is ignored', () => {
    const state = new MeshState()
    const v = new GossipValidationAdapter({ domain, seen: new SeenCache(), state, now: () => NOW })
    const job = jobOffer(bob, NOW)
    const jobBytes = encodeEnvelope(job)
    expect(outcome(v, 'resource-offers', bytes, alice.address)).toBe('accept')
    expect(outcome(v, 'job-offers', jobBytes, bob.address)).toBe('accept')
    expect(state.liveOffers(NOW).map(o => o.id).sort()).toEqual([messageId(domain, 'ResourceOffer', offer.message), messageId(domain, 'JobOffer', job.message)].sort())
    const deal = agreedDeal(bob, alice, NOW, { resourceOfferId: messageId(domain, 'ResourceOffer', offer.message), jobOfferId: messageId(domain, 'JobOffer', job.message), specHash: job.message.specHash })
    expect(outcome(v, 'deals', encodeEnvelope(deal), bob.address)).toBe('accept')
    expect(state.liveOffers(NOW)).toEqual([])
    // a node that never saw them (a solver that restarted), handed them again by a peer
    const late = new GossipValidationAdapter({ domain, seen: new SeenCache(), state, now: () => NOW })
    expect(outcome(late, 'resource-offers', bytes, undefined)).toBe('ignore TAKEN')
    expect(outcome(late, 'job-offers', jobBytes, undefined)).toBe('ignore TAKEN')
    // the provider's next offer for the same slot is a new one, and is taken
    expect(outcome(late, 'resource-offers', encodeEnvelope(resourceOffer(alice, NOW, { nonce: String(NOW + 9) })), alice.address)).toBe('accept')
  })

  test('offers synced from a peer are checked by signature, not publisher', () => {
    expect(outcome(adapter(), 'resource-offers', bytes, undefined)).toBe('accept')
  })

  test('deals: published by a party; verdicts: about a known deal, by one of its mediators', () => {
    const v = adapter()
    const deal = agreedDeal(alice, bob, NOW)
    const dealId = messageId(domain, 'Deal', deal.message)
    expect(outcome(v, 'deals', encodeEnvelope(deal), wallet(3).address)).toBe('reject WRONG_AUTHOR')
    const unknown = verdict(mediator, '0x' + '99'.repeat(32), NOW)
    expect(outcome(v, 'verdicts', encodeEnvelope(unknown), mediator.address)).toBe('ignore UNKNOWN_REFERENCE')
    expect(outcome(v, 'deals', encodeEnvelope(deal), bob.address)).toBe('accept')
    expect(outcome(v, 'verdicts', encodeEnvelope(verdict(wallet(9), dealId, NOW)), wallet(9).address)).toBe('reject INCONSISTENT')
    expect(outcome(v, 'verdicts', encodeEnvelope(verdict(mediator, dealId, NOW)), mediator.address)).toBe('accept')
  })

  test('a deal that contradicts a held job offer is dropped, and its forwarder not penalised: it may not have known the offer', () => {
    const v = adapter()
    const job = jobOffer(alice, NOW)
    expect(outcome(v, 'job-offers', encodeEnvelope(job), alice.address)).toBe('accept')
    const jobId = messageId(domain, 'JobOffer', job.message)
    const deal = agreedDeal(alice, bob, NOW, { jobOfferId: jobId, specHash: '0x' + '77'.repeat(32) })
    expect(outcome(v, 'deals', encodeEnvelope(deal), bob.address)).toBe('ignore INCONSISTENT')
  })

  test('an unexpected error becomes IGNORE INTERNAL, never a penalty', () => {
    const errors: unknown[] = []
    const state = new MeshState()
    state.latestNonce = () => { throw new Error('bug') }
    const v = new GossipValidationAdapter({ domain, seen: new SeenCache(), state, now: () => NOW, onInternalError: e => errors.push(e) })
    expect(outcome(v, 'resource-offers', bytes, alice.address)).toBe('ignore INTERNAL')
    expect(errors).toHaveLength(1)
  })
})
