/**
 * Quorum deals on chain: a deal that asks for k of its n mediators' verdicts settles on the k-th that
 * agree. The fee is split among those k; a mediator outvoted before that pays the party its verdict
 * went against; a mediator that took the case and stayed silent pays as a silent judge does. Payouts
 * equal settle()'s.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Deal } from '../../../src/protocols/messages/schemas.ts'
import { settle } from '../../../src/state-machines/settle.ts'
import type { SignedDeal } from '../../../src/settlement/index.ts'
import { expectCode, slashesOf, transfersOf } from './assertions.ts'
import { CID, OTHER_CID, common, depositAll, makeDeal, sign, signAs, startFixture, type Fixture, type Party } from './fixture.ts'
import { challenge, commit, passDeadline } from './outcomes.ts'

let f: Fixture
/** the deal's three mediators: 'outsider' stands in for the third */
const PANEL = ['mediator', 'otherMediator', 'outsider'] as const

beforeAll(async () => {
  f = await startFixture()
  await depositAll(f)
  await Promise.all(PANEL.map(async m => await f.clients[m].deposit(10_000n)))
}, 180_000)
afterAll(async () => { await f?.stop() })

async function quorumDeal (overrides: Partial<Deal> = {}): Promise<Deal> {
  return await makeDeal(f, { mediators: PANEL.map(m => f.wallets[m].address), quorum: 2, mediatorFee: '51', ...overrides })
}

async function challenged (deal: Deal): Promise<SignedDeal> {
  const signed = await sign(f, deal)
  await commit(f, signed)
  await challenge(f, signed)
  return signed
}

async function verdictOf (who: Party, deal: Deal, providerAtFault: boolean, nonce = 1): Promise<{ verdict: { author: string, nonce: string, expiry: number, dealId: string, resultsCid: string, mediatorCid: string, providerAtFault: boolean }, signature: string }> {
  const verdict = { ...common(f, who, nonce), dealId: f.clients.jobCreator.dealId(deal), resultsCid: CID, mediatorCid: providerAtFault ? OTHER_CID : CID, providerAtFault }
  return { verdict, signature: await signAs(f, who, 'MediationVerdict', verdict) }
}

/** Puts `who`'s verdict on chain, sent by `sender` (a party may bring a mediator's verdict). */
async function vote (signed: SignedDeal, who: Party, providerAtFault: boolean, sender: Party = who): ReturnType<Fixture['clients']['mediator']['settleVerdict']> {
  const { verdict, signature } = await verdictOf(who, signed.deal, providerAtFault)
  return await f.clients[sender].settleVerdict(signed, verdict, signature)
}

describe('a deal with a quorum of 2 of 3 mediators', () => {
  it('settles on the second matching verdict, and the mediator outvoted before it pays the party it went against', async () => {
    const signed = await challenged(await quorumDeal())
    const id = f.clients.outsider.dealId(signed.deal)
    // a colluding mediator says the provider's made-up results were right: one vote settles nothing
    expect(transfersOf(await vote(signed, 'mediator', false))).toEqual([])
    expect(await f.clients.outsider.dealRecord(id)).toMatchObject({ state: 'Mediating' })
    const stake = await f.clients.mediator.balanceOf()
    await vote(signed, 'otherMediator', true, 'jobCreator')
    expect((await f.clients.outsider.dealRecord(id)).state).toBe('Mediating')
    const receipt = await vote(signed, 'outsider', true)
    expect(await f.clients.outsider.dealRecord(id)).toMatchObject({ state: 'Settled', outcome: 'MediationRejected' })
    const expected = settle(signed.deal, {
      outcome: 'MediationRejected',
      panel: { majority: [f.wallets.otherMediator.address, f.wallets.outsider.address], minority: [{ mediator: f.wallets.mediator.address, stake }] }
    })
    expect(transfersOf(receipt)).toEqual(expected.transfers)
    expect(slashesOf(receipt)).toEqual(expected.slashed)
    expect(slashesOf(receipt)).toContainEqual({ from: 'mediator', to: 'jobCreator', amount: 1400n })
    // the fee of 51 splits 25 and 25; the wei left over goes to the job creator
    expect(expected.transfers.filter(t => t.role === 'mediator').map(t => t.amount)).toEqual([25n, 25n])
    expect(await f.clients.mediator.balanceOf()).toBe(stake - 1400n)
  })

  it('an honest provider is paid although one mediator colludes with the creator', async () => {
    const signed = await challenged(await quorumDeal())
    await vote(signed, 'outsider', true)
    const stake = await f.clients.outsider.balanceOf()
    await vote(signed, 'mediator', false, 'resourceProvider')
    const receipt = await vote(signed, 'otherMediator', false, 'resourceProvider')
    const expected = settle(signed.deal, {
      outcome: 'MediationAccepted',
      panel: { majority: [f.wallets.mediator.address, f.wallets.otherMediator.address], minority: [{ mediator: f.wallets.outsider.address, stake }] }
    })
    expect(transfersOf(receipt)).toEqual(expected.transfers)
    expect(slashesOf(receipt)).toEqual([{ from: 'mediator', to: 'resourceProvider', amount: 1400n }])
  })

  it('counts one verdict a mediator, from the deal\'s mediators only, and no vote once it is settled', async () => {
    const signed = await challenged(await quorumDeal())
    await vote(signed, 'mediator', true)
    const again = await verdictOf('mediator', signed.deal, false, 2)
    await expectCode(f.clients.mediator.settleVerdict(signed, again.verdict, again.signature), 'ALREADY_VOTED')
    const stranger = await verdictOf('solver', signed.deal, true)
    await expectCode(f.clients.solver.settleVerdict(signed, stranger.verdict, stranger.signature), 'NOT_THE_MEDIATOR')
    await expectCode(f.clients.solver.takeCase(signed), 'NOT_THE_MEDIATOR')
    await vote(signed, 'otherMediator', true)
    await expectCode(vote(signed, 'outsider', false), 'ALREADY_SETTLED')
  })

  it('every mediator of the deal may take its case, and one that took it and stayed silent is slashed', async () => {
    await Promise.all(PANEL.map(async m => await f.clients[m].registerMediator(20n)))
    const signed = await challenged(await quorumDeal())
    await f.clients.mediator.takeCase(signed)
    await f.clients.otherMediator.takeCase(signed)
    await f.clients.otherMediator.takeCase(signed) // a second take changes nothing
    await vote(signed, 'otherMediator', false)
    await vote(signed, 'outsider', true)
    const stake = await f.clients.mediator.balanceOf()
    await passDeadline(f, signed.deal.mediateDeadline)
    const receipt = await f.clients.resourceProvider.claimTimeoutMediate(signed)
    // the split vote slashes nobody; the mediator that took the case and gave no verdict pays
    const expected = settle(signed.deal, { outcome: 'TimeoutMediate', silentStakes: [stake] })
    expect(transfersOf(receipt)).toEqual(expected.transfers)
    expect(slashesOf(receipt)).toEqual([
      { from: 'mediator', to: 'jobCreator', amount: 400n },
      { from: 'mediator', to: 'resourceProvider', amount: 1000n }
    ])
    expect(await f.clients.mediator.balanceOf()).toBe(stake - 1400n)
  })

  it('refuses a deal that asks for more verdicts than it has mediators', async () => {
    const signed = await sign(f, await quorumDeal({ quorum: 4 }))
    await expectCode(commit(f, signed), 'BAD_QUORUM')
  })
})
