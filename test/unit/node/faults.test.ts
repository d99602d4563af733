import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { assertFaultAllowed, FAULT_RECORD, FaultRefusedError, recordFault, silencedChallenges } from '../../../src/node/faults.ts'
import type { SettlementCalls } from '../../../src/actors/roles/effects/chain.ts'
import type { Delivery, MessageTransport } from '../../../src/actors/roles/transport.ts'
import { scenario } from '../state-machines/fixtures.ts'
import { EventLog } from '../../../src/actors/eventlog/event-log.ts'
import { LilypadNode } from '../../../src/node/node.ts'

/** A transport and a chain client that record what reaches them, wrapped by a challenge fault. */
function silenced (fault: Parameters<typeof silencedChallenges>[0], s: ReturnType<typeof scenario>) {
  const sent: string[] = []
  const calls: string[] = []
  const transport: MessageTransport = {
    address: s.deal.jobCreator,
    publish: async () => { sent.push('publish') },
    send: async (to: string, delivery: Delivery) => { sent.push(`${delivery.envelope.type} to ${to}`) },
    onDelivery: () => {}
  }
  const settlement = new Proxy({}, { get: (_t, name: string) => async () => { calls.push(name) } }) as SettlementCalls
  return { sent, calls, ...silencedChallenges(fault, settlement, transport) }
}

describe('test-network faults', () => {
  it('are allowed on the devnet and test networks only', () => {
    expect(() => assertFaultAllowed('challenge-honest-results', 'devnet')).not.toThrow()
    expect(() => assertFaultAllowed('corrupt-outputs', 'test')).not.toThrow()
    expect(() => assertFaultAllowed('challenge-honest-results', 'mainnet')).toThrow(FaultRefusedError)
    try {
      assertFaultAllowed('corrupt-outputs', 'lilypad')
    } catch (err) {
      expect((err as FaultRefusedError).code).toBe('ERR_FAULT_REFUSED')
      expect((err as Error).message).toMatch(/test networks only .* not lilypad/)
    }
  })

  it('are written into the node\'s log as a record of their own', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lilypad-fault-log-'))
    try {
      const log = await EventLog.open(dir)
      await recordFault(log, 'challenge-honest-results', { network: 'devnet', roles: ['job-creator'] })
      const records = []
      for await (const record of log.read(1)) records.push(record)
      await log.close()
      expect(records.filter(r => r.type === FAULT_RECORD).map(r => r.data)).toEqual([{ fault: 'challenge-honest-results', network: 'devnet', roles: ['job-creator'] }])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('stop a node from starting on another network before it writes anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lilypad-fault-node-'))
    try {
      const start = LilypadNode.start({
        dataDir: dir, roles: ['job-creator'], network: 'mainnet', listen: [], bootstrap: [],
        domain: { chainId: '1', verifyingContract: '0x0000000000000000000000000000000000000001' },
        challengeHonestResults: true
      }, { WEB3_PRIVATE_KEY: `0x${'11'.repeat(32)}`, LOG_LEVEL: 'silent' })
      await expect(start).rejects.toThrow(FaultRefusedError)
      const log = await EventLog.open(join(dir, 'log'))
      const types = []
      for await (const record of log.read(1)) types.push(record.type)
      await log.close()
      expect(types).not.toContain(FAULT_RECORD)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('wire-only challenges: a challenge reaches the provider only, never the mediator or the chain; all else passes', async () => {
    const s = scenario()
    const faulty = silenced('wire-only-challenge', s)
    const { sent, calls } = faulty
    const mediator = s.deal.mediators[0] as string
    await faulty.transport.send(mediator, { envelope: s.challenged, attachments: [s.dealEnv] })
    await faulty.transport.send(mediator.toLowerCase(), { envelope: s.challenged, attachments: [s.dealEnv] })
    await faulty.transport.send(s.deal.resourceProvider, { envelope: s.challenged, attachments: [s.dealEnv] })
    await faulty.transport.send(mediator, { envelope: s.accepted, attachments: [] })
    expect(sent).toEqual([`ResultsChallenged to ${s.deal.resourceProvider}`, `ResultsAccepted to ${mediator}`])
    const signed = { deal: s.deal, jobCreatorSignature: '', resourceProviderSignature: '' }
    await faulty.settlement.challengeResults(signed, s.challenged.message, '', s.results.message, '')
    await faulty.settlement.claimTimeoutSubmit(signed)
    expect(calls).toEqual(['claimTimeoutSubmit'])
  })

  it('chain-only challenges: a challenge goes on chain and over the wire to no one', async () => {
    const s = scenario()
    const faulty = silenced('chain-only-challenge', s)
    const { sent, calls } = faulty
    await faulty.transport.send(s.deal.resourceProvider, { envelope: s.challenged, attachments: [s.dealEnv] })
    await faulty.transport.send(s.deal.mediators[0] as string, { envelope: s.challenged, attachments: [s.dealEnv] })
    await faulty.transport.send(s.deal.resourceProvider, { envelope: s.accepted, attachments: [] })
    expect(sent).toEqual([`ResultsAccepted to ${s.deal.resourceProvider}`])
    await faulty.settlement.challengeResults({ deal: s.deal, jobCreatorSignature: '', resourceProviderSignature: '' }, s.challenged.message, '', s.results.message, '')
    expect(calls).toEqual(['challengeResults'])
  })
})
