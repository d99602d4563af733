import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { encodeEnvelope, signMessage, type Envelope } from '../../../src/protocols/messages/index.ts'
import { DIRECT_PROTOCOLS, gossipTopic, isMeshError, type Libp2pNode, type MeshNode, type TopicName } from '../../../src/protocols/mesh/index.ts'
import { domain, NETWORK, resourceOffer, wallet } from '../../unit/protocols/mesh/fixtures.ts'
import { Inbox, meshNode, rawGossipNode, sleep, waitFor } from './support.ts'

const OFFERS: TopicName = 'resource-offers'
const topic = gossipTopic(NETWORK, OFFERS)
/**
 * gossipsub drops byte-identical messages it saw in the last `seenTTL` before any validator runs;
 * a short window here lets a replay reach our own seen cache and author checks.
 */
const SEEN_TTL = 1000

function meshPeers (node: MeshNode | Libp2pNode): string[] {
  const pubsub = ('libp2p' in node ? node.libp2p : node).services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }
  return pubsub.getMeshPeers(topic)
}

async function connect (a: MeshNode, b: MeshNode): Promise<void> {
  await a.dial(b.multiaddrs()[0] as never)
}

describe('five mesh nodes on 127.0.0.1', () => {
  let a: MeshNode, b: MeshNode, c: MeshNode, d: MeshNode
  let late: MeshNode | undefined
  let attacker: Libp2pNode
  const inbox = new Map<MeshNode, Inbox>()
  const honest = (): MeshNode[] => [a, b, c, d]
  const publishRaw = async (bytes: Uint8Array): Promise<void> => {
    await attacker.services.pubsub.publish(topic, bytes)
  }

  beforeAll(async () => {
    const options = { gossip: { heartbeatInterval: 100, seenTTL: SEEN_TTL } }
    ;[a, b, c, d] = await Promise.all([1, 2, 3, 4].map(n => meshNode(n, options))) as [MeshNode, MeshNode, MeshNode, MeshNode]
    for (const node of honest()) inbox.set(node, new Inbox(node, [OFFERS, 'job-offers']))
    // a square with one diagonal: d is two hops from a
    await connect(a, b)
    await connect(a, c)
    await connect(b, c)
    await connect(b, d)
    await connect(c, d)
    attacker = await rawGossipNode(66, { seenTTL: SEEN_TTL })
    attacker.services.pubsub.subscribe(topic)
    await attacker.dial(a.multiaddrs()[0] as never)
    await waitFor(() => honest().every(n => meshPeers(n).length >= 2) && meshPeers(attacker).length >= 1, 10_000, 'meshes to form')
  })

  afterAll(async () => {
    await Promise.all([...honest(), ...(late === undefined ? [] : [late])].map(async n => { await n?.stop() }))
    await attacker?.stop()
  })

  test('the peer id is made from the node key: same party, same address', () => {
    expect(a.address).toBe(wallet(1).address)
    expect(a.peerId.type).toBe('secp256k1')
  })

  test('an offer published on one node reaches all the others', async () => {
    const offer = await a.publish(OFFERS, resourceOffer(wallet(1), Date.now()))
    await waitFor(() => [b, c, d].every(n => inbox.get(n)?.has(offer.id) === true), 5000, 'the offer on b, c and d')
    const fromD = await d.publish('job-offers', (await import('../../unit/protocols/mesh/fixtures.ts')).jobOffer(wallet(4), Date.now()))
    await waitFor(() => [a, b, c].every(n => inbox.get(n)?.has(fromD.id) === true), 5000, 'the job offer on a, b and c')
    expect(inbox.get(a)?.has(offer.id)).toBe(false) // a publisher does not deliver its own message to itself
  })

  test('a late joiner learns the live offers', async () => {
    late = await meshNode(5)
    const lateInbox = new Inbox(late, [OFFERS, 'job-offers'])
    await connect(late, d)
    await waitFor(() => late!.liveOffers().length >= 2, 5000, 'the late joiner to sync')
    expect(lateInbox.deliveries.filter(x => x.via === 'sync').map(x => x.verified.type).sort()).toEqual(['JobOffer', 'ResourceOffer'])
    // and from now on it is in the gossip mesh too
    await waitFor(() => meshPeers(late!).length >= 1, 5000, 'the late joiner to join the mesh')
    const next = await a.publish(OFFERS, resourceOffer(wallet(1), Date.now(), { slot: 1 }))
    await waitFor(() => lateInbox.has(next.id), 5000, 'a new offer on the late joiner')
  })

  describe('bad messages are refused by the first node and not relayed', () => {
    const other = (): MeshNode[] => [b, c, d, late as MeshNode]
    const counts = (code: string): number[] => other().map(node => node.validationCount({ code: code as never }))
    /** Runs `send`, then checks no other node validated a message with this code (so none was relayed to it). */
    const expectNotRelayed = async (code: string, send: () => Promise<void>, id?: string): Promise<void> => {
      const before = counts(code)
      await send()
      await sleep(300) // time enough for a relayed message to cross two hops
      expect(counts(code), `${code} seen by another node`).toEqual(before)
      if (id !== undefined) for (const node of other()) expect(inbox.get(node)?.count(id) ?? 0).toBeLessThanOrEqual(1)
    }
    const refusedByA = async (result: 'ignore' | 'reject', code: string, before: number): Promise<void> => {
      await waitFor(() => a.validationCount({ result, code: code as never }) > before, 3000, `a to ${result} ${code}`)
    }
    let attackerOffer: Envelope<'ResourceOffer'>

    test('a valid offer from the attacker still flows, so silence below is no accident', async () => {
      attackerOffer = resourceOffer(wallet(66), Date.now())
      await publishRaw(encodeEnvelope(attackerOffer))
      const id = (await import('../../../src/protocols/messages/index.ts')).verifyEnvelope(domain, attackerOffer).id
      await waitFor(() => inbox.get(d)?.has(id) === true, 5000, 'the attacker offer on d')
    })

    test('expired: ignored', async () => {
      const before = a.validationCount({ code: 'EXPIRED' })
      const now = Date.now()
      await expectNotRelayed('EXPIRED', async () => {
        await publishRaw(encodeEnvelope(resourceOffer(wallet(66), now - 120_000, { expiry: now - 60_000 })))
        await refusedByA('ignore', 'EXPIRED', before)
      })
    })

    test('replayed by its author after gossipsub forgot it: ignored as a duplicate', async () => {
      await sleep(SEEN_TTL * 2.5)
      const before = a.validationCount({ code: 'DUPLICATE' })
      await expectNotRelayed('DUPLICATE', async () => {
        await publishRaw(encodeEnvelope(attackerOffer))
        await refusedByA('ignore', 'DUPLICATE', before)
      })
    })

    test('replayed by another peer: rejected, the publisher is not the author', async () => {
      const captured = inbox.get(b)?.deliveries.find(x => x.verified.type === 'ResourceOffer' && x.from === a.peerId.toString())
      expect(captured).toBeDefined()
      await sleep(SEEN_TTL * 2.5)
      const before = a.validationCount({ code: 'WRONG_AUTHOR' })
      await expectNotRelayed('WRONG_AUTHOR', async () => {
        await publishRaw(encodeEnvelope(captured!.envelope))
        await refusedByA('reject', 'WRONG_AUTHOR', before)
      }, captured!.id)
    })

    test('wrong author: a well-signed offer by someone else, published by the attacker, is rejected', async () => {
      const before = a.validationCount({ code: 'WRONG_AUTHOR' })
      await expectNotRelayed('WRONG_AUTHOR', async () => {
        await publishRaw(encodeEnvelope(resourceOffer(wallet(77), Date.now())))
        await refusedByA('reject', 'WRONG_AUTHOR', before)
      })
    })

    test('forged signature: rejected', async () => {
      // claims to be a's offer, but signed with the attacker's key
      const genuine = resourceOffer(wallet(1), Date.now(), { slot: 7 })
      const forged = { ...genuine, signatures: [signMessage(wallet(66), domain, 'ResourceOffer', { ...genuine.message, author: wallet(66).address }).signatures[0] as string] }
      await expectNotRelayed('BAD_SIGNATURE', async () => {
        await publishRaw(encodeEnvelope(forged))
        await refusedByA('reject', 'BAD_SIGNATURE', 0)
      })
    })

    test('oversized: rejected', async () => {
      await expectNotRelayed('OVERSIZED', async () => {
        await publishRaw(new TextEncoder().encode(JSON.stringify({ type: 'ResourceOffer', pad: 'x'.repeat(30_000) })))
        await refusedByA('reject', 'OVERSIZED', 0)
      })
    })

    test('malformed: rejected', async () => {
      await expectNotRelayed('MALFORMED', async () => {
        await publishRaw(new TextEncoder().encode('{"type": "ResourceOffer", "message": '))
        await refusedByA('reject', 'MALFORMED', 0)
      })
    })

    test('after five rejected messages the sender is graylisted: even its valid messages are dropped', async () => {
      expect(a.validationCount({ result: 'reject' })).toBe(5)
      // -10 × 5² (decayed a little) < the graylist threshold of -200
      const score = a.score(attacker.peerId)
      expect(score).toBeLessThan(a.scoreThresholds.graylistThreshold)
      // graylisted: even a valid message from it is dropped unread
      const fresh = resourceOffer(wallet(66), Date.now(), { slot: 3 })
      const acceptedBefore = a.validationCount({ result: 'accept' })
      await publishRaw(encodeEnvelope(fresh))
      await sleep(500)
      expect(a.validationCount({ result: 'accept' })).toBe(acceptedBefore)
    })
  })

  test('a partition stops delivery; after healing, delivery resumes within 5 s', async () => {
    const left = [a, b]
    const right = [c, d, late as MeshNode]
    for (const x of left) for (const y of right) { await x.gate(y.peerId, 'partition'); await y.gate(x.peerId, 'partition') }
    expect(a.libp2p.getConnections(c.peerId)).toHaveLength(0)
    const cut = await a.publish(OFFERS, resourceOffer(wallet(1), Date.now(), { slot: 4 }))
    await waitFor(() => inbox.get(b)?.has(cut.id) === true, 3000, 'delivery inside the partition')
    await sleep(1000)
    expect(right.some(n => n.liveOffers().some(o => o.id === cut.id))).toBe(false)
    await expect(c.dial(a.multiaddrs()[0] as never)).rejects.toThrow()

    const healedAt = Date.now()
    for (const x of left) for (const y of right) { x.ungate(y.peerId); y.ungate(x.peerId) }
    await connect(c, a)
    await connect(d, b)
    // publish until it crosses, as re-announcement would: a message sent before the mesh re-grafts may reach nobody across
    const sent: string[] = []
    let slot = 10
    const crossed = (): boolean => right.every(n => n.liveOffers().some(o => sent.includes(o.id)))
    while (!crossed() && Date.now() - healedAt < 5000) {
      sent.push((await a.publish(OFFERS, resourceOffer(wallet(1), Date.now(), { slot: slot++ }))).id)
      await waitFor(crossed, 500, 'delivery across the healed partition').catch(() => undefined)
    }
    expect(crossed()).toBe(true)
    expect(Date.now() - healedAt).toBeLessThan(5000)
  })

  describe('direct protocols', () => {
    test('round trip: a signed message and its reply', async () => {
      await b.handleDirect(DIRECT_PROTOCOLS.deal, message => new TextEncoder().encode(`ack ${message.verified.id} from ${message.address}`))
      const offer = resourceOffer(wallet(1), Date.now(), { slot: 9 })
      const reply = await a.sendDirect(b.peerId, DIRECT_PROTOCOLS.deal, { envelope: offer })
      const id = (await import('../../../src/protocols/messages/index.ts')).verifyEnvelope(domain, offer).id
      expect(new TextDecoder().decode(reply)).toBe(`ack ${id} from ${a.address}`)
    })

    test('a message the sender did not sign is refused', async () => {
      const notMine = resourceOffer(wallet(3), Date.now())
      const err = await a.sendDirect(b.peerId, DIRECT_PROTOCOLS.deal, { envelope: notMine }).catch(e => e)
      expect(isMeshError(err, 'REMOTE_ERROR')).toBe(true)
      expect(err.details.remoteCode).toBe('INVALID_MESSAGE')
    })

    test('timeout: a peer that does not answer in time', async () => {
      await c.handleRaw('/lilypad/test-slow/1.0.0', async (_frame, _peer, signal) => {
        await sleep(3000)
        signal.throwIfAborted()
        return new Uint8Array(0)
      })
      const started = Date.now()
      const err = await a.request(c.peerId, '/lilypad/test-slow/1.0.0', new Uint8Array([1]), { timeoutMs: 300 }).catch(e => e)
      expect(isMeshError(err, 'TIMEOUT')).toBe(true)
      expect(Date.now() - started).toBeLessThan(2000)
    })

    test('oversize: refused locally, and by a receiver with a smaller limit', async () => {
      const big = new Uint8Array(200 * 1024)
      const local = await a.request(b.peerId, DIRECT_PROTOCOLS.deal, big).catch(e => e)
      expect(isMeshError(local, 'FRAME_TOO_LARGE')).toBe(true)
      const small = await meshNode(7, { direct: { maxFrameBytes: 8 * 1024 } })
      try {
        await small.handleRaw('/lilypad/test-echo/1.0.0', frame => frame)
        await connect(a, small)
        const ok = await a.request(small.peerId, '/lilypad/test-echo/1.0.0', new Uint8Array([1, 2, 3]))
        expect([...ok]).toEqual([1, 2, 3])
        const remote = await a.request(small.peerId, '/lilypad/test-echo/1.0.0', new Uint8Array(16 * 1024)).catch(e => e)
        expect(isMeshError(remote, 'REMOTE_ERROR') || isMeshError(remote, 'PROTOCOL_ERROR')).toBe(true)
        if (isMeshError(remote, 'REMOTE_ERROR')) expect(remote.details?.remoteCode).toBe('FRAME_TOO_LARGE')
      } finally {
        await small.stop()
      }
    })

    test('per-peer rate limit', async () => {
      const limited = await meshNode(8, { direct: { requestsPerSecond: 3 } })
      try {
        await limited.handleRaw('/lilypad/test-echo/1.0.0', frame => frame)
        await connect(a, limited)
        const results = await Promise.all(Array.from({ length: 8 }, async () => await a.request(limited.peerId, '/lilypad/test-echo/1.0.0', new Uint8Array([1])).then(() => 'ok', e => isMeshError(e) ? e.code : String(e))))
        expect(results.filter(r => r === 'ok').length).toBe(3)
        expect(results.filter(r => r === 'RATE_LIMITED').length).toBe(5)
      } finally {
        await limited.stop()
      }
    })
  })
})
