import { describe, expect, it } from 'vitest'
import { AcceptedBatcher, chainEffects, type AcceptedEvidence, type SettlementCalls } from '../../../../src/actors/roles/effects/chain.ts'
import type { MessageStore } from '../../../../src/actors/roles/message-store.ts'
import type { Envelope } from '../../../../src/protocols/messages/envelope.ts'
import { domain } from '../../state-machines/fixtures.ts'

const item = (n: number): AcceptedEvidence => ({ signed: { deal: { n } as never, jobCreatorSignature: '0x', resourceProviderSignature: '0x' }, acceptance: { n } as never, acceptanceSignature: '0x' })

const dealOf = (i: AcceptedEvidence): string => String((i.acceptance as unknown as { n: number }).n)

describe('AcceptedBatcher', () => {
  it('settles the deals accepted within one window in one transaction, and the next ones in another', async () => {
    const batches: number[][] = []
    const batcher = new AcceptedBatcher(async (items) => { batches.push(items.map(i => (i.acceptance as unknown as { n: number }).n)) }, dealOf, 20, 100)
    await Promise.all([batcher.add(item(1)), batcher.add(item(2)), batcher.add(item(3))])
    await batcher.add(item(4))
    expect(batches).toEqual([[1, 2, 3], [4]])
  })

  it('sends a full batch at once, and fails every deal of a batch whose transaction failed', async () => {
    const batches: number[][] = []
    const batcher = new AcceptedBatcher(async (items) => {
      batches.push(items.map(i => (i.acceptance as unknown as { n: number }).n))
      if (batches.length === 2) throw new Error('reverted')
    }, dealOf, 10_000, 2)
    await Promise.all([batcher.add(item(1)), batcher.add(item(2))])
    const failed = [batcher.add(item(3)), batcher.add(item(4))]
    await expect(Promise.all(failed)).rejects.toThrow('reverted')
    expect(batches).toEqual([[1, 2], [3, 4]])
  })
  it('fails alone an accepted deal the contract left out of a batch, with its reason, and settles the rest', async () => {
    const batcher = new AcceptedBatcher(async (items) => ({ failed: [{ dealId: dealOf(items[1]!), reason: 'INSUFFICIENT_DEPOSIT' }] }), dealOf, 10, 100)
    const results = await Promise.allSettled([batcher.add(item(1)), batcher.add(item(2)), batcher.add(item(3))])
    expect(results.map(r => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'INSUFFICIENT_DEPOSIT' })
  })
})

describe('chain effects', () => {
  const deal: Envelope = { type: 'Deal', message: { jobCreator: 'a' } as never, signatures: ['0xjc', '0xrp'] }
  const store = { require: async (id: string) => id === 'deal' ? deal : { type: 'MediationVerdict', message: { v: 1 }, signatures: ['0xm'] } } as unknown as MessageStore
  const calls = (impl: Partial<SettlementCalls>): SettlementCalls => impl as SettlementCalls

  it('tries a chain that does not answer again, and takes a deal someone else settled as done', async () => {
    let attempts = 0
    const settlement = calls({
      settleVerdict: async () => {
        attempts++
        if (attempts < 3) throw Object.assign(new Error('no chain'), { code: 'CHAIN_UNAVAILABLE' })
      },
      claimTimeoutJudge: async () => { throw Object.assign(new Error('settled'), { code: 'ALREADY_SETTLED' }) },
      claimTimeoutSubmit: async () => { throw Object.assign(new Error('too early'), { code: 'DEADLINE_NOT_PASSED' }) }
    })
    const effects = chainEffects({ domain, store, settlement, retryDelaysMs: [1, 1, 1] })
    const context = { stream: 's', signal: new AbortController().signal }
    await effects['chain.settle']!({ type: 'chain.settle', id: 'x', dealId: 'deal', outcome: 'MediationRejected', evidence: ['deal', 'verdict:deal'] }, context)
    expect(attempts).toBe(3)
    await effects['chain.claim']!({ type: 'chain.claim', id: 'y', dealId: 'deal', claim: 'TimeoutJudge' }, context)
    await expect(effects['chain.claim']!({ type: 'chain.claim', id: 'z', dealId: 'deal', claim: 'TimeoutSubmit' }, context)).rejects.toThrow('too early')
  })

  it('answers a claim with the outcome the chain settled, also when the claim was refused because the deal went another way', async () => {
    const records = [{ state: 'ResultsSubmitted' }, { state: 'Settled', outcome: 'TimeoutJudge' }]
    const settlement = calls({
      claimTimeoutSubmit: async () => { throw Object.assign(new Error('committed'), { code: 'RESULTS_ALREADY_COMMITTED' }) },
      claimTimeoutMediate: async () => { throw Object.assign(new Error('committed'), { code: 'RESULTS_ALREADY_COMMITTED' }) },
      commitmentOf: async () => undefined,
      dealRecord: async () => records.length > 1 ? records.shift()! : records[0]!
    })
    const effects = chainEffects({ domain, store, settlement, settledPollMs: 1 })
    const context = { stream: 's', signal: new AbortController().signal }
    expect(await effects['chain.claim']!({ type: 'chain.claim', id: 'c', dealId: 'deal', claim: 'TimeoutSubmit' }, context))
      .toEqual([{ type: 'chain.settled', dealId: 'deal', outcome: 'TimeoutJudge' }])
    // the same refusal is no reason to give up a TimeoutMediate claim: it is an error there
    await expect(effects['chain.claim']!({ type: 'chain.claim', id: 'm', dealId: 'deal', claim: 'TimeoutMediate' }, context)).rejects.toThrow('committed')
  })

  it('answers a judge claim the creator\'s on-chain challenge overtook with that challenge, and a submit claim a commitment overtook with those results', async () => {
    const put: string[] = []
    const keeping = { ...store, put: async (id: string) => { put.push(id) } } as unknown as MessageStore
    const challenge = { author: '0x' + '1'.repeat(40), nonce: '1', expiry: 1, dealId: '0x' + 'd'.repeat(64), resultsCid: 'bafy', mediator: '0x' + '3'.repeat(40) }
    const results = { author: '0x' + '2'.repeat(40), nonce: '1', expiry: 1, dealId: '0x' + 'd'.repeat(64), resultsCid: 'bafy', exitCode: 0, cpuMs: 1, durationMs: 1 }
    const settlement = calls({
      claimTimeoutJudge: async () => { throw Object.assign(new Error('challenged'), { code: 'ALREADY_CHALLENGED' }) },
      claimTimeoutSubmit: async () => { throw Object.assign(new Error('committed'), { code: 'RESULTS_ALREADY_COMMITTED' }) },
      challengeOf: async () => ({ message: challenge, signature: '0xc' }),
      commitmentOf: async () => ({ message: results, signature: '0xr' })
    })
    const effects = chainEffects({ domain, store: keeping, settlement, settledPollMs: 1 })
    const context = { stream: 's', signal: new AbortController().signal }
    expect(await effects['chain.claim']!({ type: 'chain.claim', id: 'j', dealId: 'deal', claim: 'TimeoutJudge' }, context))
      .toEqual({ type: 'chain.challenged', dealId: 'deal', envelope: { type: 'ResultsChallenged', message: challenge, signatures: ['0xc'] } })
    expect(await effects['chain.claim']!({ type: 'chain.claim', id: 's', dealId: 'deal', claim: 'TimeoutSubmit' }, context))
      .toEqual({ type: 'chain.committed', dealId: 'deal', envelope: { type: 'ResultsSubmitted', message: results, signatures: ['0xr'] } })
    // a commitment the creator's on-chain challenge overtook finds the challenge too
    const committing = chainEffects({ domain, store: keeping, settlement: { ...settlement, commitResults: async () => { throw Object.assign(new Error('challenged'), { code: 'ALREADY_CHALLENGED' }) } }, settledPollMs: 1 })
    expect(await committing['chain.commitResults']!({ type: 'chain.commitResults', id: 'c', dealId: 'deal', resultsCid: 'bafy' }, context))
      .toMatchObject({ type: 'chain.challenged', dealId: 'deal' })
    // each is kept as a signed message: evidence and attachments name them
    expect(put).toHaveLength(3)
  })

  it('reads a deposit, its withdrawal and what the open deals seen lock for the check before signing, and a deal\'s record for a watch', async () => {
    const settlement = calls({
      balanceOf: async () => 5000n,
      withdrawalOf: async () => ({ amount: 1200n }),
      dealRecord: async () => ({ state: 'ResultsSubmitted' })
    })
    const asked: Array<[string, string | undefined]> = []
    const openDeals = { locksOf: (account: string, except?: string) => { asked.push([account, except]); return { withOthers: 700n, withUs: 300n } } }
    const effects = chainEffects({ domain, store, settlement, openDeals })
    const context = { stream: 's', signal: new AbortController().signal }
    expect(await effects['chain.readDeposit']!({ type: 'chain.readDeposit', id: 'f', dealId: 'deal', account: '0xabc' }, context))
      .toEqual({ type: 'chain.deposit', account: '0xabc', balance: '5000', withdrawing: '1200', lockedWithOthers: '700', lockedWithUs: '300' })
    expect(asked).toEqual([['0xabc', 'deal']])
    // a node that has seen no deals reports none
    expect(await chainEffects({ domain, store, settlement })['chain.readDeposit']!({ type: 'chain.readDeposit', id: 'f', account: '0xabc' }, context))
      .toMatchObject({ lockedWithOthers: '0', lockedWithUs: '0' })
    expect(await effects['chain.watch']!({ type: 'chain.watch', id: 'w', dealId: 'deal' }, context))
      .toEqual({ type: 'chain.observed', dealId: 'deal', state: 'ResultsSubmitted' })
  })

  it('reports the judge of a deal in mediation, drawn or fixed, and takes a case only once', async () => {
    let taken = false
    let takes = 0
    const settlement = calls({
      dealRecord: async () => ({ state: 'Mediating', caseTaken: taken, ...(taken ? { mediator: '0xjudge' } : {}) }),
      resultsCidHash: async () => '0xcid',
      judgeOf: async (signed) => (signed.deal as unknown as { jobCreator: string }).jobCreator === 'a' ? '0xjudge' : undefined,
      takeCase: async () => { takes++; taken = true }
    })
    const effects = chainEffects({ domain, store, settlement })
    const context = { stream: 's', signal: new AbortController().signal }
    // the draw, read before anyone took the case
    expect(await effects['chain.watch']!({ type: 'chain.watch', id: 'w', dealId: 'deal' }, context))
      .toEqual({ type: 'chain.observed', dealId: 'deal', state: 'Mediating', mediator: '0xjudge', caseTaken: false, resultsCidHash: '0xcid' })
    await effects['chain.takeCase']!({ type: 'chain.takeCase', id: 't', dealId: 'deal' }, context)
    expect(await effects['chain.watch']!({ type: 'chain.watch', id: 'w', dealId: 'deal' }, context)).toMatchObject({ mediator: '0xjudge', caseTaken: true })
    // carried out again after a restart: the chain shows the case taken, and no second transaction goes out
    await effects['chain.takeCase']!({ type: 'chain.takeCase', id: 't', dealId: 'deal' }, context)
    expect(takes).toBe(1)
  })

  it('tries an accepted deal a batch left out for a short deposit again', async () => {
    let batches = 0
    const accepted: Envelope = { type: 'ResultsAccepted', message: { dealId: 'deal' } as never, signatures: ['0xa'] }
    const withAcceptance = { require: async (id: string) => id === 'deal' ? deal : accepted } as unknown as MessageStore
    const settlement = calls({
      settleBatch: async () => ({ failed: batches++ === 0 ? [{ dealId: 'deal', reason: 'INSUFFICIENT_DEPOSIT' }] : [] }),
      dealRecord: async () => ({ state: 'Settled', outcome: 'Accepted' })
    })
    const effects = chainEffects({ domain, store: withAcceptance, settlement, batchWindowMs: 1, retryDelaysMs: [1] })
    const result = await effects['chain.settle']!({ type: 'chain.settle', id: 's', dealId: 'deal', outcome: 'Accepted', evidence: ['deal', 'accept:deal'] }, { stream: 's', signal: new AbortController().signal })
    expect(batches).toBe(2)
    expect(result).toEqual([{ type: 'chain.settled', dealId: 'deal', outcome: 'Accepted' }])
  })

  it('stops waiting for the settlement when the runtime stops, so that the effect is resumed on the next start', async () => {
    const settlement = calls({ claimTimeoutJudge: async () => {}, dealRecord: async () => ({ state: 'ResultsSubmitted' }) })
    const effects = chainEffects({ domain, store, settlement, settledPollMs: 5 })
    const controller = new AbortController()
    const pending = effects['chain.claim']!({ type: 'chain.claim', id: 'j', dealId: 'deal', claim: 'TimeoutJudge' }, { stream: 's', signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    await expect(pending).rejects.toThrow('stopped before deal deal settled')
  })
})
