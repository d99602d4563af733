import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Wallet } from 'ethers'
import { Level } from 'level'
import { EventLog } from '../../../src/actors/eventlog/event-log.ts'
import { Bucket, seqKey } from '../../../src/actors/eventlog/keys.ts'
import { ActorRuntime } from '../../../src/actors/runtime/actor-runtime.ts'
import { runAudit } from '../../../src/cli/commands/audit.ts'
import { testDefinitions } from '../../support/job-machine.ts'
import { repoRoot } from '../../support/child.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const wallet = new Wallet('0x' + '22'.repeat(32))
const signer = { address: wallet.address, signDigest: (d: string) => wallet.signingKey.sign(d).serialized }

/** A node's data directory whose log holds a few finished and timed-out jobs, with checkpoints. */
async function nodeDataDir (): Promise<string> {
  const dataDir = await tempDir()
  const log = await EventLog.open(join(dataDir, 'log'), { signer, checkpointEvery: 16 })
  const effects = {
    work: async () => ({ type: 'work.done', result: 'ok' }),
    'send.message': async () => {}
  }
  const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects })
  for (let i = 0; i < 12; i++) {
    await runtime.spawn(`deal:${i}`, 'test-job', { job: String(i), timeoutMs: 60_000 })
    await runtime.send(`deal:${i}`, { type: 'start', payload: `job ${i}` })
  }
  await new Promise(resolve => setTimeout(resolve, 30))
  await runtime.settled()
  await runtime.stop()
  await log.close()
  return dataDir
}

async function capture (dataDir: string, options = {}) {
  let text = ''
  const code = await runAudit(dataDir, options, testDefinitions, (t) => { text += t })
  return { code, text }
}

describe('lilypad audit', () => {
  it('passes an untouched log and prints streams and their final states', async () => {
    const dataDir = await nodeDataDir()
    const { code, text } = await capture(dataDir)
    expect(code).toBe(0)
    expect(text).toMatch(/: OK/)
    expect(text).toContain(wallet.address)
    expect(text).toMatch(/streams\s+12/)
    expect(text).toMatch(/deal:3\s+test-job\s+"done"/)
    const json = JSON.parse((await capture(dataDir, { json: true })).text)
    expect(json).toMatchObject({ ok: true, node: wallet.address })
    expect(json.checkpoints).toBeGreaterThan(0)
    const history = await capture(dataDir, { deal: '3' })
    expect(history.text).toMatch(/input\s+start/)
    expect(history.text).toMatch(/output work work:3/)
    expect(history.text).not.toMatch(/work:4/)
  })

  it('exits 1 naming the record when any one byte of any stored record is changed (100 random trials)', async () => {
    const dataDir = await nodeDataDir()
    const folder = join(dataDir, 'log')
    let seed = 20261122
    const random = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n }
    const raw = new Level<string, Buffer>(folder, { valueEncoding: 'buffer' })
    const bucket = raw.sublevel<string, Buffer>(Bucket.records, { valueEncoding: 'buffer' })
    const last = Number((await bucket.keys({ reverse: true, limit: 1 }).all())[0])
    await raw.close()
    for (let trial = 0; trial < 100; trial++) {
      const seq = 1 + random(last)
      const db = new Level<string, Buffer>(folder, { valueEncoding: 'buffer' })
      const records = db.sublevel<string, Buffer>(Bucket.records, { valueEncoding: 'buffer' })
      const original = (await records.get(seqKey(seq)))!
      const changed = Buffer.from(original)
      const at = random(changed.length)
      changed[at] = (changed[at]! + 1 + random(255)) % 256
      await records.put(seqKey(seq), changed)
      await db.close()

      const { code, text } = await capture(dataDir)
      expect(code, `trial ${trial}: byte ${at} of record ${seq}`).toBe(1)
      expect(text).toContain(`FAILED at record ${seq}:`)

      const restore = new Level<string, Buffer>(folder, { valueEncoding: 'buffer' })
      await restore.sublevel<string, Buffer>(Bucket.records, { valueEncoding: 'buffer' }).put(seqKey(seq), original)
      await restore.close()
    }
    expect((await capture(dataDir)).code).toBe(0)
  })

  it('audits a copy of the log of a node that is running', async () => {
    const dataDir = await nodeDataDir()
    const running = await EventLog.open(join(dataDir, 'log'))
    try {
      const { code, text } = await capture(dataDir)
      expect(code).toBe(0)
      expect(text).toMatch(/: OK/)
      expect(text).toMatch(/streams\s+12/)
    } finally {
      await running.close()
    }
  })

  it('catches a rewritten log whose hashes hold but whose outputs do not follow from its inputs', async () => {
    const dataDir = await tempDir()
    const log = await EventLog.open(join(dataDir, 'log'), { signer })
    await log.append([{ type: 'stream.open', data: { stream: 'deal:x', machine: 'test-job', input: { job: 'x', timeoutMs: 10 } } }])
    const [input] = await log.append([
      { type: 'input', data: { stream: 'deal:x', event: { type: 'start', payload: 'a', at: 1 } } },
      { type: 'output', data: { stream: 'deal:x', output: { type: 'work', id: 'work:x', payload: 'b' } } }
    ])
    await log.close()
    const { code, text } = await capture(dataDir)
    expect(code).toBe(1)
    expect(text).toContain(`FAILED at record ${input!.seq + 1}: recorded output work:x differs`)
  })

  it('catches checkpoints signed by a key other than the node\'s', async () => {
    const dataDir = await tempDir()
    const other = new Wallet('0x' + '33'.repeat(32))
    const log = await EventLog.open(join(dataDir, 'log'), {
      signer: { address: wallet.address, signDigest: (d: string) => other.signingKey.sign(d).serialized },
      checkpointEvery: 4
    })
    await log.append(Array.from({ length: 6 }, (_, i) => ({ type: 'note', data: i })))
    await log.close()
    const { code, text } = await capture(dataDir)
    expect(code).toBe(1)
    expect(text).toContain('FAILED at record 5: checkpoint is not signed by the node')
  })

  it('runs as a command: exit 0 on a sound log, 1 on a tampered one, 2 on a folder with no log', async () => {
    const dataDir = await tempDir()
    const log = await EventLog.open(join(dataDir, 'log'), { signer, checkpointEvery: 3 })
    await log.append(Array.from({ length: 8 }, (_, i) => ({ type: 'note', data: { i } })))
    await log.close()
    const cli = (dir: string) => spawnSync(process.execPath, ['bin/lilypad.js', 'audit', dir], { cwd: repoRoot, encoding: 'utf8' })
    const sound = cli(dataDir)
    expect(sound.stderr).toBe('')
    expect(sound.status).toBe(0)
    expect(sound.stdout).toMatch(/OK/)

    const raw = new Level<string, string>(join(dataDir, 'log'), { valueEncoding: 'utf8' })
    const records = raw.sublevel<string, string>(Bucket.records, { valueEncoding: 'utf8' })
    const [key, value] = (await records.iterator().all()).find(([, v]) => v.includes('"i":4'))!
    await records.put(key, value.replace('"i":4', '"i":9'))
    await raw.close()
    const tampered = cli(dataDir)
    expect(tampered.status).toBe(1)
    expect(tampered.stdout).toContain(`FAILED at record ${Number(key)}: hash does not match the stored content`)

    const empty = cli(await tempDir())
    expect(empty.status).toBe(2)
    expect(empty.stderr).toMatch(/no event log in/)
  })
})
