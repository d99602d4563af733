import { describe, expect, test } from 'vitest'
import { encodeEnvelope, type Verified } from '../../../../src/protocols/messages/index.ts'
import { FundingCache, GossipValidationAdapter, MeshState, PeerAdmission, SeenCache, type MeshStateLimits, type OfferFunding } from '../../../../src/protocols/mesh/index.ts'
import { domain, jobOffer, resourceOffer, wallet } from './fixtures.ts'

const NOW = 1_800_000_000_000

function adapter (limits: Partial<MeshStateLimits>, extra: { funding?: OfferFunding, offerAdmission?: { perSecond: number, burst: number }, now?: () => number } = {}) {
  const state = new MeshState(limits)
  return { state, v: new GossipValidationAdapter({ domain, seen: new SeenCache(), state, now: extra.now ?? (() => NOW), ...extra }) }
}

const slotOffer = (n: number, slot: number) => encodeEnvelope(resourceOffer(wallet(n), NOW, { slot }))
const result = (o: { result: string, code?: string }): string => o.result === 'accept' ? 'accept' : `${o.result} ${o.code}`

describe('mesh state shares', () => {
  test('one author holds at most its share; a newer nonce under a held key still replaces the old', () => {
    const { v, state } = adapter({ maxOffersPerAuthor: 2 })
    const author = wallet(1).address
    expect(result(v.validate('resource-offers', slotOffer(1, 0), author))).toBe('accept')
    expect(result(v.validate('resource-offers', slotOffer(1, 1), author))).toBe('accept')
    expect(result(v.validate('resource-offers', slotOffer(1, 2), author))).toBe('ignore FULL')
    const newer = encodeEnvelope(resourceOffer(wallet(1), NOW, { slot: 1, nonce: String(NOW + 1) }))
    expect(result(v.validate('resource-offers', newer, author))).toBe('accept')
    expect(state.offerCount).toBe(2)
  })

  test('when full, fresh keys cannot push out the offers held first, but make an author holding more than them give way', () => {
    const { v, state } = adapter({ maxOffers: 4 })
    // author 1 holds three offers, author 2 one: full
    for (const slot of [0, 1, 2]) expect(result(v.validate('resource-offers', slotOffer(1, slot), wallet(1).address))).toBe('accept')
    expect(result(v.validate('resource-offers', slotOffer(2, 0), wallet(2).address))).toBe('accept')
    // a fresh author takes the place of one of author 1's offers, the soonest to expire
    expect(result(v.validate('resource-offers', slotOffer(3, 0), wallet(3).address))).toBe('accept')
    expect(state.liveOffers(NOW).filter(o => o.author === wallet(1).address)).toHaveLength(2)
    expect(result(v.validate('resource-offers', slotOffer(4, 0), wallet(4).address))).toBe('accept')
    // now every author holds one: a flood of fresh keys is not taken, and author 2's offer stays
    for (let n = 5; n < 30; n++) expect(result(v.validate('resource-offers', slotOffer(n, 0), wallet(n).address))).toBe('ignore FULL')
    expect(state.liveOffers(NOW).map(o => o.author).sort()).toEqual([1, 2, 3, 4].map(n => wallet(n).address).sort())
  })

  test('the gossiped bytes held are bounded as well as the count', () => {
    const size = slotOffer(1, 0).byteLength
    const { v, state } = adapter({ maxOfferBytes: size * 2 + size / 2 })
    for (const n of [1, 2]) expect(result(v.validate('resource-offers', slotOffer(n, 0), wallet(n).address))).toBe('accept')
    expect(result(v.validate('resource-offers', slotOffer(3, 0), wallet(3).address))).toBe('ignore FULL')
    expect(state.offerBytesHeld).toBeLessThanOrEqual(size * 2 + size / 2)
  })

  test('own offers are never dropped to make room', () => {
    const state = new MeshState({ maxOffers: 1 })
    const own = resourceOffer(wallet(9), NOW)
    state.addOffer({ topic: 'resource-offers', type: 'ResourceOffer', id: 'own', author: wallet(9).address, key: 'k9', nonce: 1n, expiry: NOW + 1, bytes: encodeEnvelope(own), own: true, message: own.message })
    expect(state.hasRoomFor('k1', wallet(1).address, 100)).toBe(false)
  })
})

describe('admission of offers per forwarding peer', () => {
  test('a peer passes on its burst at once, then its rate; another peer is not held back by it', () => {
    let now = NOW
    const admission = new PeerAdmission({ perSecond: 10, burst: 5 }, () => now)
    const taken = Array.from({ length: 8 }, () => admission.take('flooder')).filter(Boolean).length
    expect(taken).toBe(5)
    expect(admission.take('honest')).toBe(true)
    now += 1000
    expect(Array.from({ length: 20 }, () => admission.take('flooder')).filter(Boolean).length).toBe(5)
  })

  test('offers past a peer\'s rate are ignored unverified (no penalty), other topics are not limited', async () => {
    const { v } = adapter({}, { offerAdmission: { perSecond: 1, burst: 2 } })
    const outcomes = []
    for (let n = 1; n <= 4; n++) outcomes.push(result(await v.validateQueued('resource-offers', slotOffer(n, 0), wallet(n).address, 'relay')))
    expect(outcomes).toEqual(['accept', 'accept', 'ignore THROTTLED', 'ignore THROTTLED'])
    expect(v.countOf({ code: 'THROTTLED' })).toBe(2)
    expect(result(await v.validateQueued('resource-offers', slotOffer(5, 0), wallet(5).address, 'another relay'))).toBe('accept')
  })
})

describe('escrow of offers\' authors', () => {
  test('an offer whose author holds less than it offers to lock is ignored; the balance is read once a while', async () => {
    const reads: string[] = []
    const balances = new Map([[wallet(1).address, 10n ** 30n], [wallet(2).address, 0n]])
    const funding = new FundingCache({ balanceOf: async (a) => { reads.push(a); return balances.get(a) ?? 0n }, now: () => NOW })
    const { v, state } = adapter({}, { funding })
    expect(result(await v.validateQueued('resource-offers', slotOffer(1, 0), wallet(1).address))).toBe('accept')
    expect(result(await v.validateQueued('resource-offers', slotOffer(1, 1), wallet(1).address))).toBe('accept')
    expect(result(await v.validateQueued('resource-offers', slotOffer(2, 0), wallet(2).address))).toBe('ignore UNFUNDED')
    expect(result(await v.validateQueued('job-offers', encodeEnvelope(jobOffer(wallet(2), NOW)), wallet(2).address))).toBe('ignore UNFUNDED')
    expect(reads).toEqual([wallet(1).address, wallet(2).address])
    expect(state.liveOffers(NOW).map(o => o.author)).toEqual([wallet(1).address, wallet(1).address])
  })

  test('a balance that cannot be read lets the offer through, and is read again next time', async () => {
    let fail = true
    const errors: unknown[] = []
    const funding = new FundingCache({ balanceOf: async () => { if (fail) throw new Error('rpc down'); return 0n }, onError: (err) => errors.push(err), now: () => NOW })
    const verified = { type: 'ResourceOffer', message: resourceOffer(wallet(1), NOW).message } as unknown as Verified
    expect(await funding.covers(verified)).toBe(true)
    fail = false
    expect(await funding.covers(verified)).toBe(false)
    expect(errors).toHaveLength(1)
  })
})
