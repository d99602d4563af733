import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EventLog } from '../../../src/actors/eventlog/event-log.ts'
import { ActorRuntime } from '../../../src/actors/runtime/actor-runtime.ts'
import { auditLog } from '../../../src/actors/audit.ts'
import type { LogRecord } from '../../../src/actors/eventlog/record.ts'
import { testDefinitions } from '../../support/job-machine.ts'
import { idempotentWork } from '../../support/idempotent-work.ts'
import { killed, runTs, waitForLine } from '../../support/child.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()

async function records (log: EventLog): Promise<LogRecord[]> {
  const out: LogRecord[] = []
  for await (const r of log.read(1)) out.push(r)
  return out
}

describe('a node killed with SIGKILL', () => {
  it('leaves a valid log holding a prefix of what it wrote, whole batches only', async () => {
    const dir = await tempDir()
    const writer = runTs('test/support/log-writer.ts', [dir])
    await waitForLine(writer, 'ready')
    await new Promise(resolve => setTimeout(resolve, 300 + Math.random() * 300))
    await killed(writer)

    const log = await EventLog.open(dir)
    const written = (await records(log)).slice(1)
    expect(written.length).toBeGreaterThanOrEqual(10)
    expect(written.length % 10).toBe(0)
    written.forEach((record, index) => {
      expect(record.data).toMatchObject({ batch: Math.floor(index / 10), i: index % 10 })
    })
    const [next] = await log.append([{ type: 'after-restart', data: null }])
    expect(next!.prev).toBe(written.at(-1)!.hash)
    await log.close()
  })

  for (const mode of ['before', 'after'] as const) {
    it(`completes an effect interrupted ${mode} its outside consequence exactly once`, async () => {
      const dir = await tempDir()
      const marks = await tempDir()
      const node = runTs('test/support/effect-crash-node.ts', [dir, marks, mode])
      await waitForLine(node, 'in-effect')
      await killed(node)

      const log = await EventLog.open(dir)
      const restarted = await ActorRuntime.start({}, {
        log, definitions: testDefinitions, effects: { work: idempotentWork(marks), 'send.message': async () => {} }
      })
      expect(restarted.startReport.resumed).toBe(1)
      for (let i = 0; i < 50 && restarted.snapshot('job:c')!.value !== 'done'; i++) {
        await new Promise(resolve => setTimeout(resolve, 10))
        await restarted.settled()
      }
      expect(restarted.snapshot('job:c')!.value).toBe('done')
      await new Promise(resolve => setTimeout(resolve, 10))
      await restarted.settled()
      await restarted.stop()

      const again = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects: { work: idempotentWork(marks), 'send.message': async () => {} } })
      expect(again.startReport.resumed).toBe(0)
      await again.stop()

      expect((await readFile(join(marks, 'effects.log'), 'utf8')).trim().split('\n')).toEqual(['work:c'])
      const all = await records(log)
      expect(all.filter(r => r.type === 'ack' && (r.data as { id: string }).id === 'work:c')).toHaveLength(1)
      expect(all.filter(r => r.type === 'input' && (r.data as { event: { type: string } }).event.type === 'work.done')).toHaveLength(1)
      expect((await auditLog(log, testDefinitions)).ok).toBe(true)
      await log.close()
    })
  }
})
