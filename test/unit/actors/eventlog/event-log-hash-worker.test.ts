import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { Level } from 'level'
import { EventLog } from '../../../../src/actors/eventlog/event-log.ts'
import type { HashChecker } from '../../../../src/actors/eventlog/hash-checker.ts'
import { Bucket, seqKey } from '../../../../src/actors/eventlog/keys.ts'
import { sealRecord, type LogRecord } from '../../../../src/actors/eventlog/record.ts'
import { useTempDirs } from '../../../support/temp-dir.ts'

const tempDir = useTempDirs()
const RECORDS = 3200

interface Outcome { seqs: number[], error?: { name: string, code: string, seq: number, message: string } }

async function outcome (log: EventLog, from = 1): Promise<Outcome> {
  const seqs: number[] = []
  try {
    for await (const r of log.read(from)) seqs.push(r.seq)
    return { seqs }
  } catch (err) {
    const { name, code, seq, message } = err as { name: string, code: string, seq: number, message: string }
    return { seqs, error: { name, code, seq, message } }
  }
}

/** Reads with every hash checked here, then with the hashes checked on the worker thread (running). */
async function bothWays (dir: string, from = 1): Promise<{ here: Outcome, worker: Outcome }> {
  const single = await EventLog.open(dir, { inspect: true, hashWorkerFrom: Infinity })
  const here = await outcome(single, from)
  await single.close()
  const log = await EventLog.open(dir, { inspect: true, hashWorkerFrom: 0 })
  await outcome(log)
  // the first read starts the worker and checks pages here until it runs
  expect(await (log as unknown as { hashes: HashChecker }).hashes.ready).toBe(true)
  const worker = await outcome(log, from)
  await log.close()
  return { here, worker }
}

async function filled (): Promise<string> {
  const dir = await tempDir()
  const log = await EventLog.open(dir)
  await log.append(Array.from({ length: RECORDS - 1 }, (_, i) => ({ type: 'x', data: { i, text: i % 7 === 0 ? 'é😀' : 'plain' } })))
  await log.close()
  return dir
}

async function stored (dir: string, seq: number): Promise<string> {
  const raw = new Level<string, string>(dir, { valueEncoding: 'utf8' })
  const value = await raw.sublevel<string, string>(Bucket.records, { valueEncoding: 'utf8' }).get(seqKey(seq))
  await raw.close()
  return value!
}

async function put (dir: string, seq: number, value: string): Promise<void> {
  const raw = new Level<string, string>(dir, { valueEncoding: 'utf8' })
  await raw.sublevel<string, string>(Bucket.records, { valueEncoding: 'utf8' }).put(seqKey(seq), value)
  await raw.close()
}

/** Rewrites a stored record with `change` applied to its text. */
async function edit (dir: string, seq: number, change: (text: string) => string): Promise<void> {
  await put(dir, seq, change(await stored(dir, seq)))
}

/** Replaces a record with one sealed from it changed by `change`: its own hash holds. */
async function reseal (dir: string, seq: number, change: (record: LogRecord) => LogRecord): Promise<void> {
  const { hash: _, ...body } = change(JSON.parse(await stored(dir, seq)) as LogRecord)
  await put(dir, seq, sealRecord(body).stored)
}

const otherHash = (hash: string): string => (hash[0] === '0' ? '1' : '0') + hash.slice(1)

describe('EventLog reads with hashes checked on a worker thread', () => {
  it('read every record of an intact log, from any record', async () => {
    const dir = await filled()
    for (const from of [1, 999, 1001, 3100]) {
      const { here, worker } = await bothWays(dir, from)
      expect(worker).toEqual(here)
      expect(worker.seqs).toEqual(Array.from({ length: RECORDS - from + 1 }, (_, i) => from + i))
    }
  })

  const damages: Array<[string, (dir: string) => Promise<void>, { code: string, seq: number }]> = [
    ['a changed content', dir => edit(dir, 1500, t => t.replace('"i":1498', '"i":1497')), { code: 'ERR_LOG_HASH', seq: 1500 }],
    ['a changed hash', dir => edit(dir, 1700, t => t.replace(/"hash":"([0-9a-f]{64})"/, (_, h: string) => `"hash":"${otherHash(h)}"`)), { code: 'ERR_LOG_HASH', seq: 1700 }],
    ['a hash member out of place', dir => edit(dir, 1700, t => t.replace('"hash":"', '"hash" :"')), { code: 'ERR_LOG_HASH', seq: 1700 }],
    ['a broken link, hashes holding', dir => reseal(dir, 2400, r => ({ ...r, prev: otherHash(r.prev) })), { code: 'ERR_LOG_CHAIN', seq: 2400 }],
    ['a broken link at the first record of a page', dir => reseal(dir, 1001, r => ({ ...r, prev: otherHash(r.prev) })), { code: 'ERR_LOG_CHAIN', seq: 1001 }],
    ['a broken link and a changed content in one record (the hash is checked first)',
      dir => edit(dir, 2400, t => t.replace(/"prev":"([0-9a-f]{64})"/, (_, h: string) => `"prev":"${otherHash(h)}"`)), { code: 'ERR_LOG_HASH', seq: 2400 }],
    ['a wrong seq and a changed content in one record (the seq is checked first)',
      dir => edit(dir, 1200, t => t.replace('"seq":1200', '"seq":1201')), { code: 'ERR_LOG_SEQ', seq: 1200 }],
    ['text that is not JSON', dir => edit(dir, 1300, t => t.slice(0, 50)), { code: 'ERR_LOG_DECODE', seq: 1300 }],
    ['a changed content before text that is not JSON, in one page',
      async dir => { await edit(dir, 1300, t => t.replace('"i":1298', '"i":1')); await edit(dir, 1900, t => t.slice(0, 50)) }, { code: 'ERR_LOG_HASH', seq: 1300 }],
    ['a broken link before a changed content, in one page',
      async dir => { await reseal(dir, 1300, r => ({ ...r, prev: otherHash(r.prev) })); await edit(dir, 1900, t => t.replace('"i":1898', '"i":1')) }, { code: 'ERR_LOG_CHAIN', seq: 1300 }],
    ['a changed last record', dir => edit(dir, RECORDS, t => t.replace(`"i":${RECORDS - 2}`, '"i":1')), { code: 'ERR_LOG_HASH', seq: RECORDS }]
  ]

  for (const [name, damage, expected] of damages) {
    it(`stop at ${name} exactly as the single-threaded read, after every record before it`, async () => {
      const dir = await filled()
      await damage(dir)
      const { here, worker } = await bothWays(dir)
      expect(here.error).toMatchObject({ name: 'LogIntegrityError', ...expected })
      expect(here.seqs).toEqual(Array.from({ length: expected.seq - 1 }, (_, i) => i + 1))
      expect(worker).toEqual(here)
    })
  }
})

describe('the hash worker in a process of its own', () => {
  it('lets the process end once a read is done, the log left open, when run through tsx', async () => {
    const dir = await filled()
    const script = `
      import { EventLog } from ${JSON.stringify(new URL('../../../../src/actors/eventlog/event-log.ts', import.meta.url).href)}
      const log = await EventLog.open(${JSON.stringify(dir)}, { hashWorkerFrom: 0 })
      let n = 0
      for await (const _ of log.read(1)) n++
      await new Promise(resolve => setTimeout(resolve, 200))
      for await (const _ of log.read(1)) n++
      console.log(n)`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      child.on('exit', (exitCode) => { clearTimeout(timer); resolve(exitCode) })
    })
    expect({ code, out: out.trim() }).toEqual({ code: 0, out: String(2 * RECORDS) })
  })
})
