import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { assertFaultAllowed, FAULT_RECORD, FaultRefusedError, recordFault } from '../../../src/node/faults.ts'
import { EventLog } from '../../../src/actors/eventlog/event-log.ts'
import { LilypadNode } from '../../../src/node/node.ts'

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
})
