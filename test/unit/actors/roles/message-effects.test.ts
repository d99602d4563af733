import { describe, expect, it } from 'vitest'
import { Wallet } from 'ethers'
import { messageEffects, signedBeside } from '../../../../src/actors/roles/effects/messages.ts'
import { MessageStore } from '../../../../src/actors/roles/message-store.ts'
import { EventLog } from '../../../../src/actors/eventlog/event-log.ts'
import { lilypadDomain } from '../../../../src/protocols/messages/eip712-types.ts'
import type { Delivery, MessageTransport } from '../../../../src/actors/roles/transport.ts'
import { DEAL_DELIVERY_GRACE_MS } from '../../../../src/protocols/messages/delivery.ts'
import { parties, scenario } from '../../state-machines/fixtures.ts'

const wallet = new Wallet('0x' + '42'.repeat(32))
const domain = lilypadDomain(31337n, '0x' + '5e'.repeat(20))
const T0 = 1_800_000_000_000

function accepted (expiry: number) {
  return { author: wallet.address, nonce: '1', expiry, dealId: '0x' + '01'.repeat(32), resultsCid: 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN' }
}

async function harness (failures: number, signer: Wallet = wallet) {
  const log = await EventLog.inMemory()
  const sent: Delivery[] = []
  const published: Delivery[] = []
  let clock = T0
  let calls = 0
  const transport: MessageTransport = {
    address: signer.address,
    publish: async (_topic, delivery) => { published.push(delivery) },
    send: async (_to, delivery) => {
      calls++
      if (calls <= failures) throw new Error('connection refused')
      sent.push(delivery)
    },
    onDelivery: () => {}
  }
  const effects = messageEffects({
    domain, wallet: signer, store: new MessageStore(log.bucket('messages')), transport,
    retryDelaysMs: [1000, 5000], sleep: async (ms) => { clock += ms }, now: () => clock, random: () => 1
  })
  const store = new MessageStore(log.bucket('messages'))
  return { log, store, sent, published, effects, calls: () => calls, clock: () => clock }
}

describe('message effects', () => {
  it('keep delivering to a party that is down until it takes the message', async () => {
    const h = await harness(20)
    await h.effects['message.send']!({ type: 'message.send', id: 'accept:1', messageType: 'ResultsAccepted', message: accepted(T0 + 600_000), to: ['0x' + 'bb'.repeat(20)] } as never,
      { stream: 'job', signal: new AbortController().signal })
    expect(h.calls()).toBe(21)
    expect(h.sent).toHaveLength(1)
    expect(h.sent[0]!.envelope.signatures).toHaveLength(1)
    await h.log.close()
  })

  it('give up once the message would expire before the next attempt', async () => {
    const h = await harness(Infinity)
    const send = h.effects['message.send']!({ type: 'message.send', id: 'accept:2', messageType: 'ResultsAccepted', message: accepted(T0 + 12_000), to: ['0x' + 'bb'.repeat(20)] } as never,
      { stream: 'job', signal: new AbortController().signal })
    await expect(send).rejects.toThrow(/before it expires: connection refused/)
    expect(h.calls()).toBe(4) // at +0, +1 s, +6 s and +11 s; the next would be after +12 s
    await h.log.close()
  })

  it('keep delivering a co-signed deal through the grace after its expiry, and publish it even when its party is unreachable', async () => {
    const s = scenario()
    const h = await harness(Infinity, parties.resourceProvider)
    const cosign = h.effects['message.send']!({
      type: 'message.send', id: `cosign:${s.dealId}`, messageType: 'Deal', message: s.deal, to: [parties.jobCreator.address],
      signatures: s.halfSigned.signatures, topic: 'lilypad/deals'
    } as never, { stream: 'resource-provider', signal: new AbortController().signal })
    await expect(cosign).rejects.toThrow(/before it expires/)
    // tried until the grace after the agree deadline (the deal's expiry), not just until it
    expect(h.clock()).toBeGreaterThan(s.deal.agreeDeadline)
    expect(h.clock()).toBeLessThanOrEqual(s.deal.agreeDeadline + DEAL_DELIVERY_GRACE_MS)
    expect(h.published).toHaveLength(1)
    expect(h.published[0]!.envelope.signatures).toHaveLength(2)
    await h.log.close()
  })

  it('sign a step\'s own messages for the batch that logs its outputs, and send what was stored', async () => {
    const s = scenario()
    const h = await harness(0, parties.resourceProvider)
    const sign = signedBeside({ domain, wallet: parties.resourceProvider, store: h.store })
    const cosign = { type: 'message.send', id: `cosign:${s.dealId}`, messageType: 'Deal', message: s.deal, to: [parties.jobCreator.address], signatures: s.halfSigned.signatures }
    const notMine = { type: 'message.send', id: 'accept:9', messageType: 'ResultsAccepted', message: accepted(T0 + 600_000), to: [parties.jobCreator.address] }
    const writes = await sign([cosign, notMine, { type: 'job.run', id: 'run:1' }] as never)
    // only the deal: the acceptance is not the provider's to sign (its effect fails with the reason), a run is no message
    expect(writes.map(w => w.key)).toEqual([`id:${s.dealId}`, `out:cosign:${s.dealId}`, expect.stringMatching(new RegExp(`^until:\\d{16}:id:${s.dealId},out:cosign:${s.dealId}$`))])
    await h.log.append([{ type: 'output', data: cosign }], writes)
    expect((await h.store.require(`cosign:${s.dealId}`)).signatures).toHaveLength(2)
    await h.effects['message.send']!(cosign as never, { stream: 'resource-provider', signal: new AbortController().signal })
    expect(h.sent[0]!.envelope).toEqual(await h.store.require(s.dealId))
    await expect(h.effects['message.send']!(notMine as never, { stream: 'resource-provider', signal: new AbortController().signal })).rejects.toThrow(/WRONG_SIGNER|not an author/)
    await expect(h.store.require('accept:9')).rejects.toThrow(/no signed message accept:9/)
    await h.log.close()
  })
})
