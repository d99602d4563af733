import { describe, expect, it } from 'vitest'
import type { Wallet } from 'ethers'
import { OpenDeals } from '../../../../src/actors/roles/open-deals.ts'
import type { Deal } from '../../../../src/protocols/messages/schemas.ts'
import { lockedBy } from '../../../../src/state-machines/settle.ts'
import { domain, parties, scenario, sign, T0 } from '../../state-machines/fixtures.ts'

const s = scenario()
const lock = lockedBy(s.deal)

/** The scenario's deal between other parties (or with another nonce), signed by both. */
function dealBetween (creator: Wallet, provider: Wallet, nonce = '7') {
  const deal: Deal = { ...s.deal, jobCreator: creator.address, resourceProvider: provider.address, nonce }
  return sign(provider, 'Deal', deal, sign(creator, 'Deal', deal).signatures)
}

describe('open deals a node has seen', () => {
  it('count what a party\'s agreed deals lock, with others and with us apart, but the deal being signed', () => {
    const book = new OpenDeals(parties.resourceProvider.address, domain, () => T0)
    book.seen(s.dealEnv)
    book.seen(dealBetween(parties.jobCreator, parties.stranger))
    book.seen(dealBetween(parties.jobCreator, parties.stranger)) // the same deal again counts once
    expect(book.locksOf(parties.jobCreator.address)).toEqual({ withOthers: lock.jobCreator, withUs: lock.jobCreator })
    expect(book.locksOf(parties.stranger.address)).toEqual({ withOthers: lock.resourceProvider, withUs: 0n })
    expect(book.locksOf(parties.jobCreator.address.toLowerCase(), s.dealId)).toEqual({ withOthers: lock.jobCreator, withUs: 0n })
    expect(book.locksOf(parties.mediator.address)).toEqual({ withOthers: 0n, withUs: 0n })
  })

  it('ignore a deal one party signed, one signed by someone else, and anything that is not a deal', () => {
    const book = new OpenDeals(parties.resourceProvider.address, domain, () => T0)
    book.seen(s.halfSigned)
    const forged = dealBetween(parties.jobCreator, parties.stranger)
    book.seen({ ...forged, signatures: [forged.signatures[0]!, s.dealEnv.signatures[1]!] })
    book.seen(s.accepted)
    expect(book.size).toBe(0)
  })

  it('forget a deal once its mediate deadline passes, and hold at most their limit, the first to end going first', () => {
    let now = T0
    const book = new OpenDeals(parties.solver.address, domain, () => now, 2)
    book.seen(dealBetween(parties.jobCreator, parties.stranger, '1'))
    book.seen(dealBetween(parties.jobCreator, parties.stranger, '2'))
    book.seen(dealBetween(parties.jobCreator, parties.stranger, '3'))
    expect(book.size).toBe(2)
    expect(book.locksOf(parties.jobCreator.address).withOthers).toBe(2n * lock.jobCreator)
    now = s.deal.mediateDeadline + 1
    expect(book.locksOf(parties.jobCreator.address).withOthers).toBe(0n)
    expect(book.size).toBe(0)
    book.seen(dealBetween(parties.jobCreator, parties.stranger, '4'))
    expect(book.size).toBe(0)
  })
})
