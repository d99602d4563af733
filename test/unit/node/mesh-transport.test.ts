import { describe, expect, test } from 'vitest'
import { MeshTransport } from '../../../src/node/mesh-transport.ts'
import type { MeshNode } from '../../../src/protocols/mesh/mesh-node.ts'
import type { ReceivedDirectMessage } from '../../../src/protocols/mesh/direct-messages.ts'
import type { Delivery } from '../../../src/actors/roles/transport.ts'
import type { Envelope } from '../../../src/protocols/messages/envelope.ts'

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

async function transport (dealWaitMs = 2_000): Promise<{ receive: (m: { id: string, envelope: Envelope }) => void, handed: string[] }> {
  const { mesh, direct } = fakeMesh()
  const t = new MeshTransport(mesh, dealWaitMs)
  await t.start()
  const handed: string[] = []
  t.onDelivery((d: Delivery) => { handed.push(`${d.envelope.type}:${(d.envelope.message as { nonce?: string, matchProposalId?: string }).nonce ?? (d.envelope.message as { matchProposalId: string }).matchProposalId}`) })
  const receive = (m: { id: string, envelope: Envelope }): void => {
    direct[0]!({ verified: { id: m.id }, envelope: m.envelope, attachmentEnvelopes: [] } as unknown as ReceivedDirectMessage)
  }
  return { receive, handed }
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

describe('mesh transport: a deal and the proposal it follows come from two senders', () => {
  test('a deal that overtook its proposal is handed over right after the proposal', async () => {
    const { receive, handed } = await transport()
    receive(deal('p1'))
    expect(handed).toEqual([])
    receive(proposal('p1'))
    expect(handed).toEqual(['MatchProposal:p1', 'Deal:p1'])
    await sleep(50)
    expect(handed).toEqual(['MatchProposal:p1', 'Deal:p1'])
  })

  test('a deal whose proposal came first, and a co-signed deal, are handed over at once', async () => {
    const { receive, handed } = await transport()
    receive(proposal('p1'))
    receive(deal('p1'))
    receive(deal('p2', ['0xcreator', '0xprovider']))
    expect(handed).toEqual(['MatchProposal:p1', 'Deal:p1', 'Deal:p2'])
  })

  test('a deal whose proposal never comes is handed over when the wait ends, for the machine to refuse', async () => {
    const { receive, handed } = await transport(30)
    receive(deal('p9'))
    await sleep(10)
    expect(handed).toEqual([])
    await sleep(60)
    expect(handed).toEqual(['Deal:p9'])
  })
})
