import { describe, expect, it } from 'vitest'
import { AcceptedBatcher, chainEffects, type AcceptedEvidence, type SettlementCalls } from '../../../../src/actors/roles/effects/chain.ts'
import type { MessageStore } from '../../../../src/actors/roles/message-store.ts'
import type { Envelope } from '../../../../src/protocols/messages/envelope.ts'

const item = (n: number): AcceptedEvidence => ({ signed: { deal: { n } as never, jobCreatorSignature: '0x', resourceProviderSignature: '0x' }, acceptance: { n } as never, acceptanceSignature: '0x' })

describe('AcceptedBatcher', () => {
  it('settles the deals accepted within one window in one transaction, and the next ones in another', async () => {
    const batches: number[][] = []
    const batcher = new AcceptedBatcher(async (items) => { batches.push(items.map(i => (i.acceptance as unknown as { n: number }).n)) }, 20, 100)
    await Promise.all([batcher.add(item(1)), batcher.add(item(2)), batcher.add(item(3))])
    await batcher.add(item(4))
    expect(batches).toEqual([[1, 2, 3], [4]])
  })

  it('sends a full batch at once, and fails every deal of a batch whose transaction failed', async () => {
    const batches: number[][] = []
    const batcher = new AcceptedBatcher(async (items) => {
      batches.push(items.map(i => (i.acceptance as unknown as { n: number }).n))
      if (batches.length === 2) throw new Error('reverted')
    }, 10_000, 2)
    await Promise.all([batcher.add(item(1)), batcher.add(item(2))])
    const failed = [batcher.add(item(3)), batcher.add(item(4))]
    await expect(Promise.all(failed)).rejects.toThrow('reverted')
    expect(batches).toEqual([[1, 2], [3, 4]])
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
    const effects = chainEffects({ store, settlement, retryDelaysMs: [1, 1, 1] })
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
      dealRecord: async () => records.length > 1 ? records.shift()! : records[0]!
    })
    const effects = chainEffects({ store, settlement, settledPollMs: 1 })
    const context = { stream: 's', signal: new AbortController().signal }
    expect(await effects['chain.claim']!({ type: 'chain.claim', id: 'c', dealId: 'deal', claim: 'TimeoutSubmit' }, context))
      .toEqual([{ type: 'chain.settled', dealId: 'deal', outcome: 'TimeoutJudge' }])
    // the same refusal is no reason to give up a TimeoutMediate claim: it is an error there
    await expect(effects['chain.claim']!({ type: 'chain.claim', id: 'm', dealId: 'deal', claim: 'TimeoutMediate' }, context)).rejects.toThrow('committed')
  })

  it('stops waiting for the settlement when the runtime stops, so that the effect is resumed on the next start', async () => {
    const settlement = calls({ claimTimeoutJudge: async () => {}, dealRecord: async () => ({ state: 'ResultsSubmitted' }) })
    const effects = chainEffects({ store, settlement, settledPollMs: 5 })
    const controller = new AbortController()
    const pending = effects['chain.claim']!({ type: 'chain.claim', id: 'j', dealId: 'deal', claim: 'TimeoutJudge' }, { stream: 's', signal: controller.signal })
    setTimeout(() => controller.abort(), 20)
    await expect(pending).rejects.toThrow('stopped before deal deal settled')
  })
})
