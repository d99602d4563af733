import { afterEach, describe, expect, test } from 'vitest'
import type { Wallet } from 'ethers'
import { MeshTransport } from '../../../../src/node/adapters/mesh-transport.ts'
import { createMeshNode, type MeshNode } from '../../../../src/protocols/mesh/mesh-node.ts'
import { EventLog } from '../../../../src/actors/eventlog/event-log.ts'
import { signedHead, type LogSigner } from '../../../../src/actors/eventlog/checkpoint.ts'
import { LogWitness, RECEIPT_PREFIX, WITNESS_RECORD } from '../../../../src/actors/roles/log-witness.ts'
import { headSigner, type SignedHead } from '../../../../src/protocols/messages/log-head.ts'
import { agreedDeal, domain, NETWORK, wallet } from '../../protocols/mesh/fixtures.ts'
import type { ReceivedDirectMessage } from '../../../../src/protocols/mesh/direct-messages.ts'
import type { Delivery } from '../../../../src/actors/roles/transport.ts'
import type { Envelope } from '../../../../src/protocols/messages/envelope.ts'

type DirectHandler = (message: ReceivedDirectMessage) => void

/** The part of a mesh node the transport touches, with its direct handlers exposed. */
function fakeMesh (): { mesh: MeshNode, direct: DirectHandler[] } {
  const direct: DirectHandler[] = []
  const mesh = {
    address: '0x0000000000000000000000000000000000000001',
    onMessage: () => () => {},
    handleDirect: async (_protocol: string, handler: DirectHandler) => { direct.push(handler) },
    handleRaw: async () => {}
  } as unknown as MeshNode
  return { mesh, direct }
}

const proposal = (id: string): { id: string, envelope: Envelope } =>
  ({ id, envelope: { type: 'MatchProposal', message: { nonce: id }, signatures: ['0xsolver'] } as unknown as Envelope })
const deal = (proposalId: string, signatures = ['0xcreator']): { id: string, envelope: Envelope } =>
  ({ id: `deal-${proposalId}`, envelope: { type: 'Deal', message: { matchProposalId: proposalId }, signatures } as unknown as Envelope })

async function transport (): Promise<{ receive: (m: { id: string, envelope: Envelope }) => void, handed: string[] }> {
  const { mesh, direct } = fakeMesh()
  const t = new MeshTransport(mesh)
  await t.start()
  const handed: string[] = []
  t.onDelivery((d: Delivery) => { handed.push(`${d.envelope.type}:${(d.envelope.message as { nonce?: string, matchProposalId?: string }).nonce ?? (d.envelope.message as { matchProposalId: string }).matchProposalId}`) })
  const receive = (m: { id: string, envelope: Envelope }): void => {
    direct[0]!({ verified: { id: m.id }, envelope: m.envelope, attachmentEnvelopes: [] } as unknown as ReceivedDirectMessage)
  }
  return { receive, handed }
}

describe('mesh transport: direct messages', () => {
  test('are handed over at once, in the order they came: a deal that overtook its proposal is the provider machine\'s to hold', async () => {
    const { receive, handed } = await transport()
    receive(deal('p1'))
    receive(proposal('p1'))
    receive(deal('p2', ['0xcreator', '0xprovider']))
    expect(handed).toEqual(['Deal:p1', 'MatchProposal:p1', 'Deal:p2'])
  })
})

describe('mesh transport: messages that come while the role actors start', () => {
  /** a transport started, with nobody listening yet */
  async function starting (): Promise<{ t: MeshTransport, direct: (m: { id: string, envelope: Envelope }) => void, gossip: (envelope: Envelope) => void }> {
    const direct: DirectHandler[] = []
    const gossip: Array<(d: { envelope: Envelope }) => void> = []
    const mesh = {
      address: '0x0000000000000000000000000000000000000001',
      onMessage: (_topic: string, handler: (d: { envelope: Envelope }) => void) => { gossip.push(handler); return () => {} },
      handleDirect: async (_protocol: string, handler: DirectHandler) => { direct.push(handler) },
      handleRaw: async () => {}
    } as unknown as MeshNode
    const t = new MeshTransport(mesh)
    await t.start()
    return {
      t,
      direct: (m) => { direct[0]!({ verified: { id: m.id }, envelope: m.envelope, attachmentEnvelopes: [] } as unknown as ReceivedDirectMessage) },
      gossip: (envelope) => { gossip[0]!({ envelope }) }
    }
  }
  const nonce = (d: Delivery): string => (d.envelope.message as { nonce: string }).nonce

  test('are kept, and handed over in the order they came when the role actors listen', async () => {
    const { t, direct, gossip } = await starting()
    direct(proposal('p1'))
    gossip(proposal('g1').envelope)
    direct(proposal('p2'))
    const handed: string[] = []
    t.onDelivery(d => { handed.push(nonce(d)) })
    expect(handed).toEqual(['p1', 'g1', 'p2'])
    direct(proposal('p3'))
    expect(handed).toEqual(['p1', 'g1', 'p2', 'p3'])
  })

  test('past the limit, a direct message is refused (its sender tries again) and gossip is dropped', async () => {
    const { t, direct, gossip } = await starting()
    for (let i = 0; i < 10_000; i++) direct(proposal(`p${i}`))
    expect(() => { direct(proposal('over')) }).toThrow(/starting/)
    gossip(proposal('dropped').envelope)
    const handed: string[] = []
    t.onDelivery(d => { handed.push(nonce(d)) })
    expect(handed).toHaveLength(10_000)
    expect(handed.at(-1)).toBe('p9999')
    direct(proposal('later'))
    expect(handed.at(-1)).toBe('later')
  })
})

describe('mesh transport: head notices between two real meshes', () => {
  interface Peer { key: Wallet, signer: LogSigner, mesh: MeshNode, log: EventLog, transport: MeshTransport, witness: LogWitness }
  const started: Peer[] = []
  afterEach(async () => {
    for (const p of started.splice(0)) {
      await p.witness.stop()
      await p.mesh.stop()
      await p.log.close()
    }
  })

  /** A mesh on 127.0.0.1 with its transport started, and a witness over an in-memory log. */
  async function peer (n: number): Promise<Peer> {
    const key = wallet(n)
    const signer = { address: key.address, signDigest: (d: string) => key.signingKey.sign(d).serialized }
    const mesh = await createMeshNode({ privateKey: key.privateKey, network: NETWORK, domain, gossip: { heartbeatInterval: 100 } })
    const log = await EventLog.inMemory({ signer })
    const transport = new MeshTransport(mesh)
    const witness = new LogWitness(log, signer, transport)
    transport.witness = witness
    const p = { key, signer, mesh, log, transport, witness }
    started.push(p)
    await transport.start()
    return p
  }

  test('after one direct message, the sender\'s notice is logged by the receiver and its answer kept; a stranger\'s is refused', async () => {
    const a = await peer(41)
    const b = await peer(42)
    const c = await peer(43)
    await a.mesh.dial(b.mesh.multiaddrs()[0]!)
    await c.mesh.dial(b.mesh.multiaddrs()[0]!)
    const heads: SignedHead[] = []
    b.transport.onDelivery(d => { if (d.head !== undefined) heads.push(d.head) })

    await a.transport.send(b.key.address, { envelope: agreedDeal(a.key, b.key, Date.now()), attachments: [] })
    expect(heads).toEqual([expect.objectContaining({ seq: 1, signer: a.key.address })])
    await a.log.append([{ type: 'sent', data: { to: b.key.address } }]) // what the message's head does not cover

    await a.witness.flush()
    const logged = b.log.head()
    expect(logged.type).toBe(WITNESS_RECORD)
    expect(logged.data).toEqual(signedHead(a.signer, a.log))
    const [kept] = await a.log.bucket('messages').getMany([RECEIPT_PREFIX + b.key.address.toLowerCase()])
    const answer = JSON.parse(kept!) as SignedHead
    expect(answer).toMatchObject({ seq: b.log.length, hash: logged.hash })
    expect(headSigner(answer)).toBe(b.key.address)

    const length = b.log.length
    await c.log.append([{ type: 'note', data: {} }])
    await expect(c.transport.exchangeHead(b.key.address, signedHead(c.signer, c.log))).rejects.toThrow(`${c.key.address} has no dealings`)
    expect(b.log.length).toBe(length)
  })
})
