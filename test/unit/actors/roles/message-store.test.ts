import { describe, expect, it } from 'vitest'
import { EventLog } from '../../../../src/actors/eventlog/event-log.ts'
import { lastDeadlineOf, MessageStore } from '../../../../src/actors/roles/message-store.ts'
import type { Envelope } from '../../../../src/protocols/messages/envelope.ts'
import { LIMITS } from '../../../../src/protocols/messages/fields.ts'

const HOUR = 3600_000
const T = 1_800_000_000_000

describe('MessageStore', () => {
  it('keeps a message until its last possible deadline and the retention after it, then drops it and its alias', async () => {
    const log = await EventLog.inMemory()
    const store = new MessageStore(log.bucket('messages'))
    const offer = { type: 'JobOffer', message: { expiry: T }, signatures: ['0x1'] } as unknown as Envelope
    const deal = { type: 'Deal', message: { expiry: T, mediateDeadline: T + HOUR }, signatures: ['0x1', '0x2'] } as unknown as Envelope
    await store.put('offer', offer)
    await store.put('deal', deal, 'out-7')
    expect(lastDeadlineOf(offer)).toBe(T + LIMITS.maxWindowMs + LIMITS.maxDealLifetimeMs)
    expect(lastDeadlineOf(deal)).toBe(T + HOUR)

    expect(await store.collect(T + HOUR + 23 * HOUR, 24 * HOUR)).toBe(0)
    expect(await store.get('out-7')).toEqual(deal)
    expect(await store.collect(T + HOUR + 24 * HOUR + 1, 24 * HOUR)).toBe(1)
    expect(await store.get('deal')).toBeUndefined()
    expect(await store.get('out-7')).toBeUndefined()
    expect(await store.get('offer')).toEqual(offer)

    expect(await store.collect(lastDeadlineOf(offer) + 24 * HOUR + 1, 24 * HOUR)).toBe(1)
    const left: string[] = []
    for await (const key of log.bucket('messages').keys()) left.push(key)
    expect(left).toEqual([])
    await log.close()
  })
})
