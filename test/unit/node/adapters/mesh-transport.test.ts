import { describe, expect, test } from 'vitest'
import { MeshTransport } from '../../../../src/node/adapters/mesh-transport.ts'
import type { MeshNode } from '../../../../src/protocols/mesh/mesh-node.ts'
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
    handleDirect: async (_protocol: string, handler: DirectHandler) => { direct.push(handler) }
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
      handleDirect: async (_protocol: string, handler: DirectHandler) => { direct.push(handler) }
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
