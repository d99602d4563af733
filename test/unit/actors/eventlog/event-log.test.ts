import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { Wallet } from 'ethers'
import { Level } from 'level'
import { EventLog, type EventLogOptions } from '../../../../src/actors/eventlog/event-log.ts'
import { Bucket, seqKey } from '../../../../src/actors/eventlog/keys.ts'
import { GENESIS_PREV, LogIntegrityError, openRecord, sealRecord } from '../../../../src/actors/eventlog/record.ts'
import { checkpointSigner, type CheckpointData } from '../../../../src/actors/eventlog/checkpoint.ts'
import { canonicalJson } from '../../../../src/actors/eventlog/canonical-json.ts'
import { useTempDirs } from '../../../support/temp-dir.ts'

const tempDir = useTempDirs()
const wallet = new Wallet('0x' + '11'.repeat(32))
const signer = { address: wallet.address, signDigest: (d: string) => wallet.signingKey.sign(d).serialized }

async function all (log: EventLog, from = 1) {
  const out = []
  for await (const r of log.read(from)) out.push(r)
  return out
}

/** Changes a stored record's text behind the log's back (a raw LevelDB put). */
async function tamper (dir: string, seq: number, from: string, to: string): Promise<void> {
  const raw = new Level<string, string>(dir, { valueEncoding: 'utf8' })
  const bucket = raw.sublevel<string, string>(Bucket.records, { valueEncoding: 'utf8' })
  const value = (await bucket.get(seqKey(seq)))!
  await bucket.put(seqKey(seq), value.replace(from, to))
  await raw.close()
}

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined members, whatever the insertion order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true }, u: undefined })).toBe('{"a":{"c":true,"d":[1,"x",null]},"b":1}')
    expect(canonicalJson({ a: { c: true, d: [1, 'x', null] }, b: 1 })).toBe(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: true } }))
  })
  it('writes strings and numbers exactly as JSON.stringify does', () => {
    for (let code = 0; code < 0x10000; code++) {
      const text = `a${String.fromCharCode(code)}b`
      if (canonicalJson(text) !== JSON.stringify(text)) expect(canonicalJson(text)).toBe(JSON.stringify(text))
    }
    const values = ['', 'plain', 'é😀', '\ud83d', 'line\u2028', 0, -0, 1.5, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 0.1 + 0.2, true, false]
    for (const value of values) expect(canonicalJson({ [String(value)]: value })).toBe(JSON.stringify({ [String(value)]: value }))
  })
  it('refuses values JSON cannot hold', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError)
    expect(() => canonicalJson(10n)).toThrow(TypeError)
  })
})

describe('records', () => {
  it('hash the canonical record without its hash, and open only what was sealed', () => {
    const { record, stored } = sealRecord({ v: 1, seq: 1, at: 5, type: 't', data: { z: 1, a: 'é\u2028' }, prev: GENESIS_PREV })
    expect(record.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(stored).toBe(canonicalJson(record))
    const { hash: _, ...withoutHash } = record
    expect(record.hash).toBe(createHash('sha256').update(canonicalJson(withoutHash)).digest('hex'))
    expect(openRecord(stored, 1)).toEqual(record)
    expect(() => openRecord(stored, 2)).toThrow(/holds seq 1/)
    const nested = sealRecord({ v: 1, seq: 2, at: 5, type: 'say "hash":"x"', data: { hash: 'f'.repeat(64), list: [{ hash: 'a' }] }, prev: record.hash })
    expect(openRecord(nested.stored, 2)).toEqual(nested.record)
    const tampered = stored.replace('"z":1', '"z":2')
    expect(() => openRecord(tampered, 1)).toThrowError(LogIntegrityError)
  })
})

/** The stores a log can be kept in: one compliance suite for both. */
const STORES = [
  ['LevelDB', async (options: EventLogOptions = {}) => await EventLog.open(await tempDir(), options)],
  ['memory', async (options: EventLogOptions = {}) => await EventLog.inMemory(options)]
] as const

describe.each(STORES)('EventLog in %s', (_, openLog) => {
  it('starts with a genesis record naming the node, then appends, reads and keeps its head', async () => {
    const log = await openLog({ signer })
    const genesis = log.head()
    expect(genesis).toMatchObject({ seq: 1, type: 'genesis', prev: GENESIS_PREV, data: { node: wallet.address } })
    const written = await log.append([{ type: 'a', data: { n: 1 } }, { type: 'b', data: { n: 2 } }])
    expect(written.map(r => r.seq)).toEqual([2, 3])
    expect(written[1]!.prev).toBe(written[0]!.hash)
    expect(log.head()).toEqual(written[1])
    const read = await all(log)
    expect(read.map(r => r.type)).toEqual(['genesis', 'a', 'b'])
    expect((await all(log, 3)).map(r => r.seq)).toEqual([3])
    await log.close()
  })

  it('serialises concurrent appenders: batches never interleave and seqs have no gaps', async () => {
    const log = await openLog()
    await Promise.all(Array.from({ length: 20 }, (_, writer) =>
      log.append(Array.from({ length: 5 }, (_, i) => ({ type: 'w', data: { writer, i } })))))
    const records = (await all(log)).slice(1)
    expect(records.map(r => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 2))
    for (let b = 0; b < 20; b++) {
      const batch = records.slice(b * 5, b * 5 + 5).map(r => r.data as { writer: number, i: number })
      expect(new Set(batch.map(d => d.writer)).size).toBe(1)
      expect(batch.map(d => d.i)).toEqual([0, 1, 2, 3, 4])
    }
    await log.close()
  })

  it('writes a checkpoint of the head every N records, signed by the node key', async () => {
    const log = await openLog({ signer, checkpointEvery: 10 })
    await log.append(Array.from({ length: 25 }, (_, i) => ({ type: 'x', data: i })))
    const records = await all(log)
    const checkpoints = records.filter(r => r.type === 'checkpoint')
    expect(checkpoints.length).toBe(2)
    for (const cp of checkpoints) {
      const data = cp.data as CheckpointData
      const covered = records.find(r => r.seq === data.seq)!
      expect(cp.seq).toBe(data.seq + 1)
      expect(data.hash).toBe(covered.hash)
      expect(checkpointSigner(data)).toBe(wallet.address)
    }
    await log.close()
  })

  it('writes nothing of a batch holding a value JSON cannot encode', async () => {
    const log = await openLog()
    const head = log.head()
    await expect(log.append([{ type: 'a', data: 1 }, { type: 'b', data: { n: 10n } as never }])).rejects.toThrow(TypeError)
    expect(log.head()).toEqual(head)
    expect((await all(log)).map(r => r.type)).toEqual(['genesis'])
    const [next] = await log.append([{ type: 'c', data: 2 }])
    expect(next!.seq).toBe(2)
    await log.close()
  })

  it('reads any range, across pages, and stops early when asked', async () => {
    const log = await openLog()
    await log.append(Array.from({ length: 2600 }, (_, i) => ({ type: 'x', data: { i } })))
    expect((await all(log)).map(r => r.seq)).toEqual(Array.from({ length: 2601 }, (_, i) => i + 1))
    const range = []
    for await (const r of log.read(999, 2002)) range.push(r.seq)
    expect(range).toEqual(Array.from({ length: 1004 }, (_, i) => i + 999))
    for await (const r of log.read(1)) if (r.seq === 1500) break
    expect(await log.get(1500)).toMatchObject({ seq: 1500, data: { i: 1498 } })
    expect(await log.get(9999)).toBeUndefined()
    await log.close()
  })

  it('keeps the newest snapshots and side buckets beside the records, outside the chain', async () => {
    const log = await openLog()
    for (const seq of [5, 9, 12]) await log.snapshots.put(seq, `state at ${seq}`)
    const kept = []
    for await (const s of log.snapshots.newestFirst()) kept.push(s)
    expect(kept).toEqual([{ seq: 12, value: 'state at 12' }, { seq: 9, value: 'state at 9' }])
    await log.bucket('messages').put('m', 'kept')
    expect(await log.bucket('messages').get('m')).toBe('kept')
    expect(log.length).toBe(1)
    await log.close()
    await expect(log.append([{ type: 'late', data: 1 }])).rejects.toThrow(/closed/)
  })

  it('writes side values in the same batch as the records they go with, and none of a batch that fails', async () => {
    const log = await openLog()
    await log.append([{ type: 'sent', data: 1 }], [{ bucket: 'messages', key: 'out:a', value: 'signed a' }])
    expect(await log.bucket('messages').get('out:a')).toBe('signed a')
    expect(log.length).toBe(2)
    await expect(log.append([{ type: 'bad', data: { n: 1n } as never }], [{ bucket: 'messages', key: 'out:b', value: 'signed b' }])).rejects.toThrow()
    expect(await log.bucket('messages').get('out:b')).toBeUndefined()
    expect(log.length).toBe(2)
    await log.close()
  })
})

describe('EventLog on disk', () => {
  it('reopens where it left off and keeps chaining', async () => {
    const dir = await tempDir()
    let log = await EventLog.open(dir)
    await log.append([{ type: 'a', data: 1 }])
    const head = log.head()
    await log.close()
    log = await EventLog.open(dir)
    expect(log.head()).toEqual(head)
    const [next] = await log.append([{ type: 'b', data: 2 }])
    expect(next!.prev).toBe(head.hash)
    expect((await all(log)).length).toBe(3)
    await log.close()
  })

  it('stops reading at a record whose stored bytes were changed, naming its seq', async () => {
    const dir = await tempDir()
    const log = await EventLog.open(dir)
    await log.append(Array.from({ length: 5 }, (_, i) => ({ type: 'x', data: { i } })))
    await log.close()
    await tamper(dir, 4, '"i":2', '"i":7')
    const reopened = await EventLog.open(dir)
    await expect(all(reopened)).rejects.toMatchObject({ code: 'ERR_LOG_HASH', seq: 4 })
    await reopened.close()
  })

  it('reads, across pages, every record before a damaged one', async () => {
    const dir = await tempDir()
    const log = await EventLog.open(dir)
    await log.append(Array.from({ length: 2600 }, (_, i) => ({ type: 'x', data: { i } })))
    await log.close()
    await tamper(dir, 1500, '"i":1498', '"i":1497')
    const reopened = await EventLog.open(dir)
    const seen: number[] = []
    await expect((async () => { for await (const r of reopened.read(1)) seen.push(r.seq) })()).rejects.toMatchObject({ code: 'ERR_LOG_HASH', seq: 1500 })
    expect(seen).toEqual(Array.from({ length: 1499 }, (_, i) => i + 1))
    await reopened.close()
  })

  it('detects a record removed from the middle of the chain', async () => {
    const dir = await tempDir()
    const log = await EventLog.open(dir)
    await log.append(Array.from({ length: 5 }, (_, i) => ({ type: 'x', data: { i } })))
    await log.close()
    const raw = new Level<string, string>(dir, { valueEncoding: 'utf8' })
    await raw.sublevel<string, string>(Bucket.records, { valueEncoding: 'utf8' }).del(seqKey(3))
    await raw.close()
    const reopened = await EventLog.open(dir)
    await expect(all(reopened)).rejects.toMatchObject({ code: 'ERR_LOG_SEQ', seq: 3 })
    await reopened.close()
  })

  it('refuses a second process on the same folder with a clear message', async () => {
    const dir = await tempDir()
    const log = await EventLog.open(dir)
    await expect(EventLog.open(dir)).rejects.toThrow(/cannot open the event log .*node running/)
    await log.close()
  })
})
