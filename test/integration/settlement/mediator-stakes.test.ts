/**
 * Mediators on chain: a challenge locks the deal's funds (so no mediator works for a deal with no
 * deposits behind it), and a mediator that registered for a deal's fee and took its case is slashed,
 * from its stake, when it lets the deal's mediate deadline pass: the provider gets the price, the
 * creator the provider's results collateral, as settle() computes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Wallet } from 'ethers'
import type { Deal } from '../../../src/protocols/messages/schemas.ts'
import { settle } from '../../../src/state-machines/settle.ts'
import { signDeal, signMessage, type SignedDeal } from '../../../src/settlement/index.ts'
import { expectCode, slashesOf, transfersOf } from './assertions.ts'
import { CID, depositAll, makeDeal, sign, startFixture, type Fixture } from './fixture.ts'
import { challenge, commit, passDeadline } from './outcomes.ts'

let f: Fixture

beforeAll(async () => {
  f = await startFixture()
  await depositAll(f)
}, 180_000)
afterAll(async () => { await f?.stop() })

/** A committed and challenged deal, whose case the mediator takes unless told not to. */
async function challenged (deal: Deal, take = true): Promise<SignedDeal> {
  const signed = await sign(f, deal)
  await commit(f, signed)
  await challenge(f, signed)
  if (take) await f.clients.mediator.takeCase(signed)
  return signed
}

/** Lets a challenged deal's mediate deadline pass and claims TimeoutMediate as the provider. */
async function silent (signed: SignedDeal): Promise<Awaited<ReturnType<Fixture['clients']['resourceProvider']['claimTimeoutMediate']>>> {
  await passDeadline(f, signed.deal.mediateDeadline)
  return await f.clients.resourceProvider.claimTimeoutMediate(signed)
}

describe('mediator stakes', () => {
  it('a challenge takes both parties\' locked amounts from their deposits', async () => {
    const deal = await makeDeal(f)
    const signed = await sign(f, deal)
    await commit(f, signed)
    const before = await Promise.all([f.clients.jobCreator.balanceOf(), f.clients.resourceProvider.balanceOf()])
    const receipt = await challenge(f, signed)
    expect(receipt.events.find(e => e.name === 'DealLocked')?.args).toMatchObject({ jobCreatorAmount: 1500n, resourceProviderAmount: 500n })
    const after = await Promise.all([f.clients.jobCreator.balanceOf(), f.clients.resourceProvider.balanceOf()])
    expect([before[0] - after[0], before[1] - after[1]]).toEqual([1500n, 500n])
    expect(await f.clients.outsider.dealRecord(f.clients.outsider.dealId(deal))).toMatchObject({ state: 'Mediating', locked: true })
  })

  it('refuses a challenge of a deal whose parties have no deposits: nobody re-runs it for free', async () => {
    const creator = Wallet.createRandom()
    const provider = Wallet.createRandom()
    const deal = await makeDeal(f, { jobCreator: creator.address, resourceProvider: provider.address })
    const signed = await signDeal(f.clients.outsider.domain, deal, creator, provider)
    const id = f.clients.outsider.dealId(deal)
    const results = { author: provider.address, nonce: '1', expiry: 9_999_999_999_999, dealId: id, resultsCid: CID, exitCode: 0, cpuMs: 1, durationMs: 1 }
    const c = { author: creator.address, nonce: '1', expiry: 9_999_999_999_999, dealId: id, resultsCid: CID }
    const post = f.clients.outsider.challengeResults(
      signed, c, await signMessage(creator, f.clients.outsider.domain, 'ResultsChallenged', c),
      results, await signMessage(provider, f.clients.outsider.domain, 'ResultsSubmitted', results)
    )
    await expectCode(post, 'INSUFFICIENT_DEPOSIT')
    expect((await f.clients.outsider.dealRecord(id)).state).toBe('JobOffered')
  })

  it('an unregistered mediator is not slashed: both parties get their refunds', async () => {
    await f.clients.mediator.deposit(10_000n)
    const signed = await challenged(await makeDeal(f))
    const receipt = await silent(signed)
    expect(transfersOf(receipt)).toEqual(settle(signed.deal, { outcome: 'TimeoutMediate' }).transfers)
    expect(slashesOf(receipt)).toEqual([])
  })

  it('a mediator that never took the case is not slashed: nobody can make it answer for a challenge it never heard of', async () => {
    await f.clients.mediator.registerMediator(50n)
    const signed = await challenged(await makeDeal(f), false)
    await expectCode(f.clients.otherMediator.takeCase(signed), 'NOT_THE_MEDIATOR')
    const receipt = await silent(signed)
    expect(slashesOf(receipt)).toEqual([])
    expect(await f.clients.outsider.dealRecord(f.clients.outsider.dealId(signed.deal))).toMatchObject({ outcome: 'TimeoutMediate', caseTaken: false })
  })

  it('a registered mediator that took the case and stays silent pays the provider the price and the creator the results collateral', async () => {
    expect(await f.clients.outsider.mediatorOf(f.wallets.mediator.address)).toEqual({ registered: true, fee: 50n, stake: 10_000n })
    const signed = await challenged(await makeDeal(f))
    const stake = await f.clients.mediator.balanceOf()
    expect((await f.clients.outsider.dealRecord(f.clients.outsider.dealId(signed.deal))).caseTaken).toBe(true)
    const receipt = await silent(signed)
    const expected = settle(signed.deal, { outcome: 'TimeoutMediate', boundStake: stake })
    expect(transfersOf(receipt)).toEqual(expected.transfers)
    expect(slashesOf(receipt)).toEqual([
      { from: 'mediator', to: 'jobCreator', amount: 400n },
      { from: 'mediator', to: 'resourceProvider', amount: 1000n }
    ])
    expect(await f.clients.mediator.balanceOf()).toBe(stake - 1400n)
  })

  it('a stake that falls short is shared pro rata', async () => {
    const signed = await challenged(await makeDeal(f, { price: '20000', paymentCollateral: '20100' }))
    const stake = await f.clients.mediator.balanceOf()
    const receipt = await silent(signed)
    const owed = 20_000n + 400n
    expect(slashesOf(receipt)).toEqual([
      { from: 'mediator', to: 'jobCreator', amount: stake * 400n / owed },
      { from: 'mediator', to: 'resourceProvider', amount: stake - stake * 400n / owed }
    ])
    expect(transfersOf(receipt)).toEqual(settle(signed.deal, { outcome: 'TimeoutMediate', boundStake: stake }).transfers)
    expect(await f.clients.mediator.balanceOf()).toBe(0n)
  })

  it('a deal paying less than the registered fee does not bind the mediator', async () => {
    await f.clients.mediator.deposit(10_000n)
    const signed = await challenged(await makeDeal(f, { mediatorFee: '49' }))
    const receipt = await silent(signed)
    expect(slashesOf(receipt)).toEqual([])
    expect(await f.clients.mediator.balanceOf()).toBe(10_000n)
  })

  it('a higher fee binds only after the withdrawal delay, a lower one at once', async () => {
    const delay = await f.clients.outsider.withdrawDelaySeconds()
    await f.clients.mediator.registerMediator(80n)
    expect((await f.clients.outsider.mediatorOf(f.wallets.mediator.address)).fee).toBe(50n)
    // a deal agreed under the fee in force still binds it after the raise
    const signed = await challenged(await makeDeal(f))
    expect(slashesOf(await silent(signed)).length).toBe(2)
    await passDeadline(f, (Number((await f.clients.outsider.provider.getBlock('latest'))?.timestamp) + delay) * 1000)
    expect((await f.clients.outsider.mediatorOf(f.wallets.mediator.address)).fee).toBe(80n)
    await f.clients.mediator.registerMediator(20n)
    expect((await f.clients.outsider.mediatorOf(f.wallets.mediator.address)).fee).toBe(20n)
  })

  it('no party picks the judge: it is drawn from the deal\'s mediators after the challenge, and only it takes the case', async () => {
    const both = [f.wallets.mediator.address, f.wallets.otherMediator.address]
    const drawn = new Set<string>()
    for (let i = 0; i < 8; i++) {
      const signed = await sign(f, await makeDeal(f, { mediators: both }))
      await commit(f, signed)
      await challenge(f, signed)
      const judge = await f.clients.outsider.judgeOf(signed) as string
      expect(both).toContain(judge)
      drawn.add(judge)
      const [taker, other] = judge === both[0] ? [f.clients.mediator, f.clients.otherMediator] : [f.clients.otherMediator, f.clients.mediator]
      await expectCode(other.takeCase(signed), 'NOT_THE_MEDIATOR')
      await taker.takeCase(signed)
      expect(await f.clients.outsider.dealRecord(f.clients.outsider.dealId(signed.deal))).toMatchObject({ mediator: judge, caseTaken: true })
      // the judge that took the case stays the judge, however many blocks pass
      await f.clients.outsider.provider.send('anvil_mine', ['0x101', '0x0'])
      expect(await f.clients.outsider.judgeOf(signed)).toBe(judge)
    }
    // eight draws of two mediators, all the same: one chance in 128
    expect(drawn.size).toBe(2)
  })

  it('a drawn judge that does not take the case within 256 blocks is replaced by a fresh draw', async () => {
    const both = [f.wallets.mediator.address, f.wallets.otherMediator.address]
    const signed = await sign(f, await makeDeal(f, { mediators: both }))
    await commit(f, signed)
    await challenge(f, signed)
    const first = await f.clients.outsider.judgeOf(signed)
    const judges = [first]
    for (let round = 0; round < 16 && judges.every(j => j === first); round++) {
      await f.clients.outsider.provider.send('anvil_mine', ['0x100', '0x0'])
      judges.push(await f.clients.outsider.judgeOf(signed))
    }
    const next = judges.find(j => j !== first) as string
    expect(both).toContain(next)
    const [taker, other] = next === both[0] ? [f.clients.mediator, f.clients.otherMediator] : [f.clients.otherMediator, f.clients.mediator]
    await expectCode(other.takeCase(signed), 'NOT_THE_MEDIATOR')
    await taker.takeCase(signed)
    expect(await f.clients.outsider.judgeOf(signed)).toBe(next)
  })

  it('a stake asked to leave no longer counts as a stake', async () => {
    const held = await f.clients.mediator.balanceOf()
    await f.clients.mediator.requestWithdrawal(held)
    expect((await f.clients.outsider.mediatorOf(f.wallets.mediator.address)).stake).toBe(0n)
  })
})
