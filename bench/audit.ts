// npm run bench -- audit: what the audit of a long log costs, and what log heads add to the wire.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Wallet } from 'ethers'
import { EventLog } from '../src/actors/eventlog/event-log.ts'
import { signedHead, type LogSigner } from '../src/actors/eventlog/checkpoint.ts'
import { auditLog } from '../src/actors/audit.ts'
import { HeadsHeld } from '../src/actors/audit-heads.ts'
import { WITNESS_RECORD } from '../src/actors/roles/log-witness.ts'
import { encodeDirectMessage } from '../src/protocols/mesh/direct-messages.ts'
import type { Envelope } from '../src/protocols/messages/envelope.ts'
import { testDefinitions } from '../test/support/job-machine.ts'
import { fillWithJobs } from './eventlog.ts'
import { report, round } from './report.ts'

const BENCH = 'audit'
const RECORDS = Number(process.env.BENCH_AUDIT_RECORDS ?? 1_000_000)
/** a counterparty's head notice is logged this often, in records */
const WITNESS_EVERY = 1000

function signerOf (wallet: Pick<Wallet, 'address' | 'signingKey'>): LogSigner {
  return { address: wallet.address, signDigest: (d: string) => wallet.signingKey.sign(d).serialized }
}

/** A log of `total` records of jobs, checkpointed every 1,000, with a counterparty's head logged every WITNESS_EVERY. */
async function fill (dir: string): Promise<{ witnessed: number }> {
  const node = signerOf(Wallet.createRandom())
  const other = signerOf(Wallet.createRandom())
  const counterpart = await EventLog.inMemory({ signer: other })
  const log = await EventLog.open(dir, { signer: node, checkpointEvery: 1000 })
  let witnessed = 0
  try {
    let jobs = 0
    while (log.length < RECORDS) {
      jobs += await fillWithJobs(log, Math.min(RECORDS, log.length + WITNESS_EVERY), jobs)
      await log.append([{ type: WITNESS_RECORD, data: signedHead(other, counterpart) }])
      witnessed++
    }
  } finally {
    await log.close()
    await counterpart.close()
  }
  return { witnessed }
}

async function timeAudit (dir: string, withHeads: boolean): Promise<{ seconds: number, ok: boolean, heads: number }> {
  const log = await EventLog.open(dir, { inspect: true })
  try {
    const start = performance.now()
    const held = new HeadsHeld()
    const audit = await auditLog(log, testDefinitions, withHeads ? { observe: held.observe } : {})
    const heads = withHeads ? (await held.withKept(log)).length : 0
    return { seconds: (performance.now() - start) / 1000, ok: audit.ok, heads }
  } finally {
    await log.close()
  }
}

/** The bytes a signed head adds to a direct frame, and the time to sign one. */
async function headCost (): Promise<{ bytes: number, signMs: number }> {
  const log = await EventLog.inMemory()
  const signer = signerOf(Wallet.createRandom())
  await log.append([{ type: 'x', data: 1 }])
  const envelope = { type: 'ResultsAccepted', message: { dealId: '0x' + 'ab'.repeat(32), expiry: 1 }, signatures: ['0x' + 'cd'.repeat(65)] } as unknown as Envelope
  const head = signedHead(signer, log)
  const bytes = encodeDirectMessage({ envelope, head }).byteLength - encodeDirectMessage({ envelope }).byteLength
  const n = 2000
  const start = performance.now()
  for (let i = 0; i < n; i++) signedHead(signer, log)
  await log.close()
  return { bytes, signMs: (performance.now() - start) / n }
}

export async function run (): Promise<void> {
  const cost = await headCost()
  report({ bench: BENCH, metric: 'head_bytes_per_message', value: cost.bytes, unit: 'bytes', note: 'added to every direct frame, and the size of a head notice' })
  report({ bench: BENCH, metric: 'head_sign', value: round(cost.signMs), unit: 'ms', note: 'one per direct message, notice, answer and checkpoint' })
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-bench-audit-'))
  try {
    const { witnessed } = await fill(dir)
    const plain = await timeAudit(dir, false)
    const heads = await timeAudit(dir, true)
    if (!plain.ok || !heads.ok) throw new Error('the bench log does not audit')
    report({
      bench: BENCH, metric: 'audit_1m', value: round(heads.seconds), unit: 's', records: RECORDS, heads: heads.heads, witnessed,
      note: 'every hash, link and checkpoint, every input replayed, and the heads the log holds gathered', baseline: round(plain.seconds), ratio: round(heads.seconds / plain.seconds)
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
