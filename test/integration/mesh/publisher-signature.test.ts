import { multicodec } from '@libp2p/gossipsub'
import { RPC } from '@libp2p/gossipsub/message'
import type { PrivateKey } from '@libp2p/interface'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { encodeEnvelope, verifyEnvelope } from '../../../src/protocols/messages/index.ts'
import { gossipTopic, type Libp2pNode, type MeshNode } from '../../../src/protocols/mesh/index.ts'
import { libp2pPrivateKey, peerIdOfKey } from '../../../src/protocols/mesh/peer-identity.ts'
import { domain, NETWORK, resourceOffer, wallet } from '../../unit/protocols/mesh/fixtures.ts'
import { Inbox, meshNode, rawGossipNode, sleep, waitFor } from './support.ts'

const topic = gossipTopic(NETWORK, 'resource-offers')

function lengthPrefixed (bytes: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let n = bytes.length
  while (n >= 0x80) { prefix.push((n & 0x7f) | 0x80); n >>>= 7 }
  prefix.push(n)
  return Uint8Array.from([...prefix, ...bytes])
}

/**
 * A gossip message as gossipsub puts it on the wire under StrictSign, claiming `claimed` as its
 * publisher and signed by `signer` (the two differ in a forgery).
 */
function gossipMessage (claimed: string, signer: PrivateKey, data: Uint8Array, seqno: number): RPC.Message {
  const from = peerIdOfKey(claimed).toMultihash().bytes
  const seq = new Uint8Array(8)
  new DataView(seq.buffer).setBigUint64(0, BigInt(Date.now()) * 1000n + BigInt(seqno))
  const unsigned = { from, data, seqno: seq, topic }
  const signature = signer.sign(Uint8Array.from([...new TextEncoder().encode('libp2p-pubsub:'), ...RPC.Message.encode(unsigned)])) as Uint8Array
  return { ...unsigned, signature }
}

describe('the publisher signature of a gossip message (StrictSign)', () => {
  let a: MeshNode, b: MeshNode
  let impostor: Libp2pNode
  let inboxA: Inbox, inboxB: Inbox
  const impostorKey = libp2pPrivateKey(wallet(66).privateKey)

  /** Sends messages to a over a gossipsub stream of the impostor's own, bypassing its gossipsub. */
  const sendToA = async (...messages: RPC.Message[]): Promise<void> => {
    const stream = await impostor.dialProtocol(a.peerId, multicodec)
    stream.send(lengthPrefixed(RPC.encode({ subscriptions: [], messages })))
    await sleep(100)
  }

  beforeAll(async () => {
    ;[a, b] = await Promise.all([meshNode(1), meshNode(2)]) as [MeshNode, MeshNode]
    inboxA = new Inbox(a, ['resource-offers'])
    inboxB = new Inbox(b, ['resource-offers'])
    await a.dial(b.multiaddrs()[0] as never)
    impostor = await rawGossipNode(66)
    impostor.services.pubsub.subscribe(topic)
    await impostor.dial(a.multiaddrs()[0] as never)
    await waitFor(() => impostor.services.pubsub.getSubscribers(topic).length >= 1, 10_000, 'a to subscribe')
  })

  afterAll(async () => {
    await Promise.all([a, b].map(async n => { await n?.stop() }))
    await impostor?.stop()
  })

  test('a message signed by the peer it names as publisher is delivered and relayed', async () => {
    const offer = resourceOffer(wallet(3), Date.now(), { slot: 1 })
    await sendToA(gossipMessage(wallet(3).privateKey, libp2pPrivateKey(wallet(3).privateKey), encodeEnvelope(offer), 1))
    const id = verifyEnvelope(domain, offer).id
    await waitFor(() => inboxA.has(id) && inboxB.has(id), 5000, 'the offer on a and b')
  })

  test('a message naming its author as publisher but signed by another peer is refused before any validator, not relayed, and penalised', async () => {
    // the impostor relabels someone else's offer as that author's own publication, to get past WRONG_AUTHOR
    const offer = resourceOffer(wallet(3), Date.now(), { slot: 2 })
    const validatedBefore = a.validationCount({})
    await sendToA(gossipMessage(wallet(3).privateKey, impostorKey, encodeEnvelope(offer), 2))
    await sleep(300)
    const id = verifyEnvelope(domain, offer).id
    expect(inboxA.has(id)).toBe(false)
    expect(inboxB.has(id)).toBe(false)
    expect(a.validationCount({})).toBe(validatedBefore)
    expect(a.score(impostor.peerId)).toBeLessThan(0)
  })
})
