/**
 * `lilypad audit <data-dir> --deal <id>` and `lilypad audit deal <id> <data-dir>...` on the logs a
 * deal's parties wrote: four RoleHosts over their own logs on disk, run to the deal's end.
 */
import { spawnSync } from 'node:child_process'
import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Level } from 'level'
import { Wallet } from 'ethers'
import { EventLog } from '../../../src/actors/eventlog/event-log.ts'
import { Bucket, seqKey } from '../../../src/actors/eventlog/keys.ts'
import { GENESIS_PREV, sealRecord, type LogRecord } from '../../../src/actors/eventlog/record.ts'
import { signCheckpoint } from '../../../src/actors/eventlog/checkpoint.ts'
import { auditLog } from '../../../src/actors/audit.ts'
import { WITNESS_RECORD } from '../../../src/actors/roles/log-witness.ts'
import { HeadsHeld } from '../../../src/actors/audit-heads.ts'
import type { SignedHead } from '../../../src/protocols/messages/log-head.ts'
import { DealIndex } from '../../../src/actors/audit-deal.ts'
import { compareDeal, type CrossReport } from '../../../src/actors/audit-across.ts'
import type { InputData } from '../../../src/actors/runtime/records.ts'
import { formatCross, runAudit, runDealAudit } from '../../../src/cli/commands/audit.ts'
import { roleDefinitions } from '../../../src/cli/definitions.ts'
import { dealLogs, HONEST_CID, parties, type DealLogs } from '../../support/deal-logs.ts'
import { repoRoot } from '../../support/child.ts'

let root: string
let accepted: DealLogs
let mediated: DealLogs

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-audit-deal-'))
  accepted = await dealLogs(join(root, 'accepted'), 'accepted')
  mediated = await dealLogs(join(root, 'mediated'), 'mediated')
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

interface Run { code: number, out: string, err: string }

async function audit (dataDir: string, options: { deal?: string, json?: boolean }): Promise<Run> {
  let out = ''
  let err = ''
  const code = await runAudit(dataDir, options, roleDefinitions(), (t) => { out += t }, (t) => { err += t })
  return { code, out, err }
}

async function auditDeal (id: string, dirs: string[], json = false): Promise<Run> {
  let out = ''
  let err = ''
  const code = await runDealAudit(id, dirs, { json }, roleDefinitions(), (t) => { out += t }, (t) => { err += t })
  return { code, out, err }
}

async function copyOf (dir: string, name: string): Promise<string> {
  const into = join(root, 'copies', `${name}-${Date.now()}-${Math.random().toString(16).slice(2)}`)
  await cp(dir, into, { recursive: true })
  return into
}

/** The seq of the first input that received a message of this type. */
async function receivedAt (dataDir: string, type: string): Promise<number> {
  const log = await EventLog.open(join(dataDir, 'log'), { inspect: true })
  try {
    for await (const r of log.read(1)) {
      if (r.type === 'input' && ((r.data as InputData).event.envelope as { type?: string } | undefined)?.type === type) return r.seq
    }
  } finally {
    await log.close()
  }
  throw new Error(`no ${type} received in ${dataDir}`)
}

/** The raw LevelDB of a data directory's log, for writes no node would make. */
function rawLog (dataDir: string) {
  const db = new Level<string, string>(join(dataDir, 'log'), { valueEncoding: 'utf8' })
  return {
    db,
    records: db.sublevel<string, string>(Bucket.records, { valueEncoding: 'utf8' }),
    messages: db.sublevel<string, string>(Bucket.messages, { valueEncoding: 'utf8' }),
    snapshots: db.sublevel<string, string>(Bucket.snapshots, { valueEncoding: 'utf8' })
  }
}

/** Deletes the snapshots kept beside the log, as one hiding a cut or rewrite would. */
async function deleteSnapshots (snapshots: ReturnType<typeof rawLog>['snapshots']): Promise<number> {
  const keys: string[] = []
  for await (const key of snapshots.keys()) keys.push(key)
  await snapshots.batch(keys.map(key => ({ type: 'del' as const, key })))
  return keys.length
}

/** Changes the first `from` in a text to `to`: one byte, in every use below. */
function oneByte (text: string, from: string, to: string): string {
  const at = text.indexOf(from)
  expect(at, `${from} in ${text.slice(0, 80)}`).toBeGreaterThanOrEqual(0)
  return text.slice(0, at) + to + text.slice(at + from.length)
}

/** A kept message with one hex digit of its first signature changed. */
function signatureByteChanged (kept: string): string {
  const signature = (JSON.parse(kept) as { signatures: string[] }).signatures[0]!
  return oneByte(kept, signature.slice(0, 10), signature.slice(0, 9) + (signature[9] === '0' ? '1' : '0'))
}

/**
 * What one without the node's key can do to its log: seal every record again from the genesis on,
 * naming its own key in the genesis record and signing the checkpoints with it, and drop the records
 * after `upTo`. Every hash and signature holds.
 */
async function rewriteWithoutTheKey (dataDir: string, wallet: Wallet, upTo: number): Promise<void> {
  await reseal(dataDir, wallet, 1, r => r.type === 'genesis' ? { ...r, data: { ...(r.data as object), node: wallet.address } as LogRecord['data'] } : r, upTo)
}

/**
 * What a node that rewrites its own log can do: edit record `seq` and seal every record from it on
 * again, re-signing the checkpoints with its key, so that every hash and signature holds.
 */
async function rewriteOwnLog (dataDir: string, seq: number, edit: (stored: string) => string, wallet: Wallet): Promise<void> {
  await reseal(dataDir, wallet, seq, (r, stored) => r.seq === seq ? JSON.parse(edit(stored)) as LogRecord : r)
}

/**
 * Seals the records from `from` on again, each as `edit` makes it, linked to the one before and
 * with the checkpoints signed by `wallet`; the records after `upTo` are dropped, and the snapshots
 * of the old records with them.
 */
async function reseal (dataDir: string, wallet: Wallet, from: number, edit: (record: LogRecord, stored: string) => LogRecord, upTo = Infinity): Promise<void> {
  const signer = { address: wallet.address, signDigest: (d: string) => wallet.signingKey.sign(d).serialized }
  const { db, records, snapshots } = rawLog(dataDir)
  try {
    await deleteSnapshots(snapshots)
    const before = from > 1 ? JSON.parse((await records.get(seqKey(from - 1)))!) as LogRecord : undefined
    let prev = before?.hash ?? GENESIS_PREV
    let prevSeq = before?.seq ?? 0
    const writes: Array<{ type: 'put', key: string, value: string } | { type: 'del', key: string }> = []
    for await (const [key, value] of records.iterator({ gte: seqKey(from) })) {
      const r = edit(JSON.parse(value) as LogRecord, value)
      if (r.seq > upTo) {
        writes.push({ type: 'del', key })
        continue
      }
      const data = r.type === 'checkpoint' ? signCheckpoint(signer, prevSeq, prev) : r.data
      const { record, stored } = sealRecord({ v: r.v, seq: r.seq, at: r.at, type: r.type, data, prev })
      writes.push({ type: 'put', key, value: stored })
      prev = record.hash
      prevSeq = record.seq
    }
    await records.batch(writes)
  } finally {
    await db.close()
  }
}

describe('lilypad audit --deal', () => {
  it('finds the deal on the job creator\'s log by its deal id and by its job offer id, and prints its history', async () => {
    const { dirs, dealId, jobOfferId } = accepted
    const byDeal = await audit(dirs.creator, { deal: dealId })
    expect(byDeal.err).toBe('')
    expect(byDeal.code).toBe(0)
    expect(byDeal.out).toMatch(/: OK\n/)
    expect(byDeal.out).toContain(`deal ${dealId}:`)
    expect(byDeal.out).toContain(`job offer    ${jobOfferId}`)
    expect(byDeal.out).toMatch(/outcome {6}job-creator \(stream job:0x[0-9a-f]{4}…[0-9a-f]{4}\): Accepted, results Qm/)
    // the proposal that made the deal, the creator's signature and the provider's co-signature
    expect(byDeal.out).toMatch(/received MatchProposal from 0x[0-9a-fA-F]{40} \(with JobOffer, ResourceOffer\)/)
    expect(byDeal.out).toMatch(/-> message\.send sign-deal:0x[0-9a-f]{4}…[0-9a-f]{4}: sign Deal, send to/)
    expect(byDeal.out).toMatch(new RegExp(`received {8}Deal ${dealId} \\(2 signatures\\)`))
    expect(byDeal.out).toMatch(/-> message\.send accept:0x[0-9a-f]{4}…[0-9a-f]{4}: sign ResultsAccepted/)
    expect(byDeal.out).toMatch(/armed submitDeadline for/)
    expect(byDeal.out).toMatch(/chain\.readDeposit funds:0x[0-9a-f]{4}…[0-9a-f]{4}: read the deposit of .*; done #\d+\n.*<- chain\.deposit/)

    const byJob = await audit(dirs.creator, { deal: jobOfferId, json: true })
    expect(byJob.code).toBe(0)
    const report = JSON.parse(byJob.out)
    expect(report).toMatchObject({ ok: true, node: parties.creator.address, deal: { kind: 'job', query: jobOfferId } })
    expect(report.deal.deals).toHaveLength(1)
    expect(report.deal.deals[0]).toMatchObject({
      dealId, jobOfferId, terms: { jobCreator: parties.creator.address, resourceProvider: parties.provider.address, solver: parties.solver.address },
      parties: [{ role: 'job-creator', state: 'Accepted', outcome: 'Accepted', resultsCid: HONEST_CID }]
    })
    // the job's own records (its offer published) come with the deal's
    expect(report.deal.decisions[0].input).toBe('opens job-creator')
    expect(report.history.map((r: LogRecord) => r.seq)).toEqual(expect.arrayContaining(report.deal.decisions.map((d: { seq: number }) => d.seq)))
    const signed = report.deal.messages.filter((m: { how: string }) => m.how === 'signed').map((m: { type: string }) => m.type)
    expect(signed).toEqual(['JobOffer', 'Deal', 'ResultsAccepted'])
    expect(report.deal.problems).toEqual([])
    // the same deal, whichever id names it
    const again = JSON.parse((await audit(dirs.creator, { deal: dealId, json: true })).out)
    expect(again.deal.decisions).toEqual(report.deal.decisions)
  })

  it('finds the deal inside the provider\'s one stream, by deal id and by job offer id: its timers, co-signature, results and settlement', async () => {
    const { dirs, dealId, jobOfferId } = accepted
    const report = JSON.parse((await audit(dirs.provider, { deal: dealId, json: true })).out)
    expect(report.ok).toBe(true)
    expect(report.deal.kind).toBe('deal')
    expect(report.deal.deals[0].parties).toEqual([expect.objectContaining({ role: 'resource-provider', stream: 'resource-provider', state: 'Accepted', outcome: 'Accepted', resultsCid: HONEST_CID })])
    const outputs = report.deal.decisions.flatMap((d: { outputs: Array<{ id: string }> }) => d.outputs.map(o => o.id))
    expect(outputs).toEqual(expect.arrayContaining([`prepare:${dealId}`, `funds:${dealId}`, `cosign:${dealId}`, `run:${dealId}`, `results:${dealId}`, `settle:${dealId}`]))
    // its slot's timers, named after the slot, are the deal's
    expect(report.deal.deadlines.map((d: { name: string }) => d.name)).toEqual(expect.arrayContaining(['agree:0', 'submit:0', 'judge:0', 'commit:0']))
    const settle = report.deal.chain.find((c: { type: string }) => c.type === 'chain.settle')
    expect(settle).toMatchObject({ id: `settle:${dealId}`, ack: { seq: expect.any(Number) } })
    expect(settle.ack.error).toBeUndefined()
    // the co-signed Deal, as kept beside the log, carries both signatures
    const cosigned = report.deal.messages.find((m: { kept?: string }) => m.kept === `out:cosign:${dealId}`)
    expect(cosigned.envelope.signatures).toHaveLength(2)
    // the offer its slot publishes once the deal ends is another offer's: counted, not listed
    const ended = report.deal.decisions.find((d: { outputs: Array<{ id: string }> }) => d.outputs.some(o => o.id === `settle:${dealId}`))
    expect(ended).toMatchObject({ input: expect.stringMatching(/^received ResultsAccepted from /), otherOutputs: 1 })

    const byJob = JSON.parse((await audit(dirs.provider, { deal: jobOfferId, json: true })).out)
    expect(byJob.deal).toMatchObject({ kind: 'job', deals: [{ dealId }] })
    const text = (await audit(dirs.provider, { deal: dealId })).out
    expect(text).toMatch(/armed submit:0 for/)
    expect(text).toMatch(/-> chain\.settle settle:0x[0-9a-f]{4}…[0-9a-f]{4}: settle Accepted/)
  })

  it('finds a mediated deal on the mediator\'s and the solver\'s logs', async () => {
    const { dirs, dealId, jobOfferId } = mediated
    const mediator = JSON.parse((await audit(dirs.mediator, { deal: dealId, json: true })).out)
    expect(mediator.deal.deals[0].parties).toEqual([expect.objectContaining({ role: 'mediator', state: 'decided', verdict: 'MediationAccepted', resultsCid: HONEST_CID })])
    expect(mediator.deal.chain.map((c: { type: string }) => c.type)).toEqual(['chain.watch', 'chain.takeCase', 'chain.settle'])
    expect(mediator.deal.messages.find((m: { how: string }) => m.how === 'signed')).toMatchObject({ type: 'MediationVerdict', kept: `out:verdict:${dealId}` })
    const solver = JSON.parse((await audit(dirs.solver, { deal: jobOfferId, json: true })).out)
    expect(solver.deal).toMatchObject({ kind: 'job', deals: [{ dealId, parties: [{ role: 'solver', state: 'agreed' }] }] })
    expect(solver.deal.messages.map((m: { how: string, type: string }) => `${m.how} ${m.type}`)).toEqual(expect.arrayContaining(['received JobOffer', 'signed MatchProposal', 'received Deal']))
    const creator = JSON.parse((await audit(dirs.creator, { deal: dealId, json: true })).out)
    expect(creator.deal.deals[0].parties[0]).toMatchObject({ state: 'MediationAccepted', outcome: 'MediationAccepted' })
    // the verdict is put on chain by the creator too: the chain's outcome is the deal's
    expect(creator.deal.chain.map((c: { type: string }) => c.type)).toEqual(['chain.readDeposit', 'chain.watch', 'chain.challenge', 'chain.settle'])
  })

  it('answers bad input in one line with exit 2: a folder with no log, an id the log holds nothing about', async () => {
    const none = await audit(join(root, 'nowhere'), { deal: accepted.dealId })
    expect(none).toMatchObject({ code: 2, out: '' })
    expect(none.err).toMatch(/^lilypad audit: no event log in .*\n$/)
    const unknown = await audit(accepted.dirs.creator, { deal: '0x' + 'ab'.repeat(32) })
    expect(unknown).toMatchObject({ code: 2, out: '', err: `lilypad audit: no deal, job offer or stream 0x${'ab'.repeat(32)} in this log\n` })
    // a deal of another log
    expect((await audit(accepted.dirs.creator, { deal: mediated.dealId })).code).toBe(2)
  })

  it('fails a deal whose signed message, kept beside the log, was changed by one byte', async () => {
    const { dirs, dealId } = accepted
    const provider = await copyOf(dirs.provider, 'provider')
    const { db, messages } = rawLog(provider)
    await messages.put(`out:results:${dealId}`, signatureByteChanged((await messages.get(`out:results:${dealId}`))!))
    await db.close()
    const run = await audit(provider, { deal: dealId })
    expect(run.code).toBe(1)
    expect(run.out).toMatch(/: OK\n/)
    expect(run.out).toMatch(/FAILED: 1 signed message\(s\) kept beside the log disagree with it/)
    expect(run.out).toMatch(new RegExp(`the ResultsSubmitted kept for output results:${dealId} does not verify.*\\(ERR_KEPT_SIGNATURE\\)`))
  })
})

describe('lilypad audit deal', () => {
  it('passes the honest logs of a deal\'s parties, named by deal id or job offer id', async () => {
    for (const { dirs, dealId, jobOfferId } of [accepted, mediated]) {
      const all = [dirs.creator, dirs.provider, dirs.solver, ...(dealId === mediated.dealId ? [dirs.mediator] : [])]
      const run = await auditDeal(dealId, all)
      expect(run.err).toBe('')
      expect(run.code, run.out).toBe(0)
      expect(run.out).toContain(`audit of deal ${dealId} across ${all.length} log(s): OK, they agree`)
      expect(run.out).toMatch(/messages {5}\d+ signed message\(s\) held by more than one log, the same byte for byte/)
      const json = JSON.parse((await auditDeal(jobOfferId, [dirs.creator, dirs.provider], true)).out)
      expect(json).toMatchObject({ ok: true, dealId })
      // the offers, the proposal, the deal, the results and more: each held by both, the same
      expect(json.shared).toBeGreaterThanOrEqual(5)
    }
    const run = await auditDeal(mediated.dealId, [mediated.dirs.creator, mediated.dirs.provider, mediated.dirs.mediator], true)
    expect(JSON.parse(run.out).logs.map((l: { parties: Array<{ outcome: string | null, verdict?: string }> }) => l.parties[0]!.outcome ?? l.parties[0]!.verdict)).toEqual(['MediationAccepted', 'MediationAccepted', 'MediationAccepted'])
  })

  it('names the record when the provider\'s kept copy of a signed message differs by one byte from the job creator\'s', async () => {
    const { dirs, dealId } = accepted
    const provider = await copyOf(dirs.provider, 'provider')
    const { db, messages } = rawLog(provider)
    await messages.put(`out:results:${dealId}`, signatureByteChanged((await messages.get(`out:results:${dealId}`))!))
    await db.close()
    const seq = (await outputSeq(provider, `results:${dealId}`))
    const run = await auditDeal(dealId, [dirs.creator, provider], true)
    expect(run.code).toBe(1)
    const json = JSON.parse(run.out)
    expect(json.ok).toBe(false)
    expect(json.disagreement).toMatchObject({ code: 'ERR_MESSAGE', log: provider, seq, other: { log: dirs.creator, seq: await receivedAt(dirs.creator, 'ResultsSubmitted') } })
    expect(json.disagreement.reason).toMatch(/^ResultsSubmitted 0x[0-9a-f]{64} differs: .* they first differ in signatures\[0\].*the copy in .* does not verify/)
    const text = (await auditDeal(dealId, [dirs.creator, provider])).out
    expect(text.split('\n')[0]).toBe(`audit of deal ${dealId} across 2 log(s): FAILED at record ${seq} of ${provider}: ${json.disagreement.reason} (ERR_MESSAGE)`)
  })

  it('catches a log its node rewrote so that every hash, checkpoint and replayed output holds, when one signed message differs by one byte from its counterparty\'s', async () => {
    const { dirs, dealId } = accepted
    const creator = await copyOf(dirs.creator, 'creator')
    const seq = await receivedAt(creator, 'ResultsSubmitted')
    // the signature's last byte (v) 0x1b or 0x1c, read as 0x2b or 0x2c: still a valid signature by the same key
    const flip = (text: string): string => text.replace(/(0x[0-9a-f]{128})1([bc])"/, '$12$2"')
    await rewriteOwnLog(creator, seq, flip, parties.creator)
    // and the copy kept beside the log, so that the log agrees with itself
    const { db, messages } = rawLog(creator)
    for await (const [key, value] of messages.iterator()) if (key.startsWith('id:') && value.includes('"ResultsSubmitted"')) await messages.put(key, flip(value))
    await db.close()

    const alone = await audit(creator, { deal: dealId })
    expect(alone.code, alone.out).toBe(0)
    const run = await auditDeal(dealId, [dirs.provider, creator], true)
    expect(run.code).toBe(1)
    const json = JSON.parse(run.out)
    expect(json.disagreement).toMatchObject({ code: 'ERR_MESSAGE', log: creator, seq, other: { log: dirs.provider, seq: await outputSeq(dirs.provider, `results:${dealId}`) } })
    expect(json.disagreement.reason).toMatch(/they first differ in signatures\[0\], at byte \d+/)
    expect(json.disagreement.reason).not.toMatch(/does not verify/)
  })

  it('names the record of a log that fails its own audit: one byte changed in place', async () => {
    const { dirs, dealId } = accepted
    const creator = await copyOf(dirs.creator, 'creator')
    const seq = await receivedAt(creator, 'ResultsSubmitted')
    const { db, records } = rawLog(creator)
    await records.put(seqKey(seq), oneByte((await records.get(seqKey(seq)))!, '"resultsCid":"Qm', '"resultsCid":"Qn'))
    await db.close()
    const run = await auditDeal(dealId, [creator, dirs.provider])
    expect(run.code).toBe(1)
    expect(run.out.split('\n')[0]).toBe(`audit of deal ${dealId} across 2 log(s): FAILED at record ${seq} of ${creator}: its log fails the audit at record ${seq}: hash does not match the stored content (ERR_LOG_HASH) (ERR_AUDIT)`)
  })

  it('holds results and outcomes against each other: the first disagreement, and whose log holds it', async () => {
    const { dirs, dealId } = accepted
    const traces = []
    for (const dir of [dirs.creator, dirs.provider]) {
      const log = await EventLog.open(join(dir, 'log'), { inspect: true })
      const index = new DealIndex()
      const report = await auditLog(log, roleDefinitions(), { observe: index.observe })
      traces.push({ name: dir, report, trace: (await index.trace(log, dealId))! })
      await log.close()
    }
    expect(compareDeal(dealId, traces).ok).toBe(true)
    const provider = traces[1]!.trace.deals[0]!.parties[0]!
    provider.outcome = 'TimeoutJudge'
    expect(compareDeal(dealId, traces).disagreement).toMatchObject({
      code: 'ERR_OUTCOME', log: dirs.provider, other: { log: dirs.creator }, reason: 'its resource-provider ended the deal TimeoutJudge, the other\'s job-creator Accepted'
    })
    provider.resultsCid = 'QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn'
    expect(compareDeal(dealId, traces).disagreement).toMatchObject({ code: 'ERR_RESULTS', log: dirs.provider })
    const terms = traces[1]!.trace.deals[0]!.terms!
    traces[1]!.trace.deals[0]!.terms = { ...terms, price: '801' }
    expect(compareDeal(dealId, traces).disagreement).toMatchObject({ code: 'ERR_DEAL_ID', log: dirs.provider })
  })

  it('a log rewritten from its genesis under another key audits on its own, and is caught against a counterparty\'s log: 100 random rewrites', async () => {
    const { dirs, dealId } = accepted
    const creator = await partyLog(dirs.creator, dealId)
    const length = (await partyLog(dirs.provider, dealId)).report.records
    // from the record where the provider holds the signed deal on: a log cut before it holds no deal to compare
    const dealAt = (await partyLog(dirs.provider, dealId)).trace.messages.find(m => m.type === 'Deal')!.seq
    let auditedAlone = 0
    for (let trial = 0; trial < 100; trial++) {
      // another key, and the records up to a random one from the deal's first on (all of them first)
      const key = new Wallet(Wallet.createRandom().privateKey)
      const dir = join(root, 'rewritten', String(trial))
      await cp(dirs.provider, dir, { recursive: true })
      const upTo = trial === 0 ? length : dealAt + Math.floor(Math.random() * (length - dealAt + 1))
      await rewriteWithoutTheKey(dir, key, upTo)
      const rewritten = await partyLog(dir, dealId)
      const disagreement = compareDeal(dealId, [creator, rewritten]).disagreement
      // cut between an input and the outputs it caused, the log fails its own audit (the node writes
      // both in one batch); cut between batches, it audits, and only the deal's terms give it away
      if (rewritten.report.ok) {
        auditedAlone++
        expect(rewritten.report.node).toBe(key.address)
        expect(disagreement, `trial ${trial}`).toMatchObject({ code: 'ERR_NODE', log: dir, reason: expect.stringContaining(`by ${key.address}, but the deal's resource-provider is ${parties.provider.address}`) })
      } else {
        expect(disagreement, `trial ${trial}`).toMatchObject({ code: 'ERR_AUDIT', log: dir })
      }
    }
    expect(auditedAlone).toBeGreaterThan(10)
    // the provider's own log is the provider's
    expect(compareDeal(dealId, [creator, await partyLog(dirs.provider, dealId)]).ok).toBe(true)
  }, 120_000)

  it('each log ends on a head its counterparty holds: the last record, witnessed after the log went quiet', async () => {
    const { dirs, dealId } = accepted
    for (const [mine, theirs, node] of [[dirs.provider, dirs.creator, parties.provider], [dirs.creator, dirs.provider, parties.creator]] as const) {
      const last = (await partyLog(mine, dealId)).report.records
      // in the other's log: its messages' heads, its notices (witness records) and, kept beside
      // the other's log, its answers to the other's notices
      const log = await EventLog.open(join(theirs, 'log'), { inspect: true })
      const held = new HeadsHeld()
      try {
        for await (const r of log.read(1)) held.observe(r)
        const heads = (await held.withKept(log)).filter(h => h.signer === node.address.toLowerCase())
        expect(Math.max(...heads.map(h => h.head.seq)), `${node.address} has ${last} records`).toBe(last)
      } finally {
        await log.close()
      }
    }
    // a notice is logged in a witness record
    const log = await EventLog.open(join(dirs.creator, 'log'), { inspect: true })
    const witnessed: number[] = []
    try {
      for await (const r of log.read(1)) if (r.type === WITNESS_RECORD) witnessed.push((r.data as SignedHead).seq)
    } finally {
      await log.close()
    }
    expect(witnessed.length).toBeGreaterThan(0)
    // the cross-node audit says so: each log witnessed to its last record
    const json = JSON.parse((await auditDeal(dealId, [dirs.creator, dirs.provider], true)).out) as { logs: Array<{ witnessedTo: number, audit: { records: number } }> }
    for (const l of json.logs) expect(l.witnessedTo).toBe(l.audit.records)
    const text = (await auditDeal(dealId, [dirs.creator, dirs.provider])).out
    expect(text).toMatch(/witnessed to record (\d+) of \1 by heads the other logs hold\n/)
    // and what a log holds past the heads the others hold is named
    const unseen = { ...json, logs: [{ ...json.logs[0]!, witnessedTo: json.logs[0]!.audit.records - 3 }, json.logs[1]!] }
    expect(formatCross(unseen as unknown as CrossReport)).toMatch(/witnessed to record \d+ of \d+ by heads the other logs hold: the 3 after it no other log saw\n/)
  })

  for (const party of ['provider', 'creator'] as const) {
    it(`the ${party}'s log cut by any number of trailing records, its snapshots deleted, is caught against its counterparty's log: 100 random cuts`, async () => {
      const { dirs, dealId } = accepted
      const other = party === 'provider' ? dirs.creator : dirs.provider
      const mine = await partyLog(dirs[party], dealId)
      const length = mine.report.records
      const dealAt = mine.trace.messages.find(m => m.type === 'Deal')!.seq
      const codes = new Map<string, number>()
      for (let trial = 0; trial < 100; trial++) {
        const dir = join(root, `cut-${party}`, String(trial))
        await cp(dirs[party], dir, { recursive: true })
        // from 1 record to every record after the deal's first: the first trial cuts the last record only
        const drop = trial === 0 ? 1 : 1 + Math.floor(Math.random() * (length - dealAt))
        await cutAfter(dir, length - drop)
        const { db, snapshots } = rawLog(dir)
        expect(await deleteSnapshots(snapshots)).toBeGreaterThan(0)
        await db.close()
        const cross = await auditDeal(dealId, [other, dir], true)
        expect(cross.code, `trial ${trial}: cut ${drop} of ${length}`).toBe(1)
        const code = (JSON.parse(cross.out) as { disagreement: { code: string } }).disagreement.code
        // a cut that splits a batch fails the log's own audit; one between batches only a head gives away
        expect(['ERR_HEAD', 'ERR_AUDIT'], `trial ${trial}`).toContain(code)
        codes.set(code, (codes.get(code) ?? 0) + 1)
      }
      expect(codes.get('ERR_HEAD')).toBeGreaterThan(10)
      // the whole log meets every head it signed
      expect((await auditDeal(dealId, [other, dirs[party]])).code).toBe(0)
    }, 120_000)
  }

  it('a log cut short with its snapshots kept fails its own audit: the snapshot was taken of records it no longer holds', async () => {
    const dir = await copyOf(accepted.dirs.provider, 'provider')
    const { db, snapshots } = rawLog(dir)
    const [newest] = await snapshots.values({ reverse: true, limit: 1 }).all()
    await db.close()
    const taken = (JSON.parse(newest!.slice(0, newest!.indexOf('\n'))) as { seq: number }).seq
    await cutAfter(dir, taken - 1)
    const run = await audit(dir, {})
    expect(run.code).toBe(1)
    expect(run.out.split('\n')[0]).toBe(`audit of ${join(dir, 'log')}: FAILED at record ${taken}: a snapshot of the machines taken at record ${taken} is kept beside the log, which ends at record ${taken - 1}: the log was cut short (ERR_LOG_SNAPSHOT)`)
  })

  it('holds the parties\' outcomes against the mediator\'s verdict', async () => {
    const { dirs, dealId } = mediated
    const traces = []
    for (const dir of [dirs.creator, dirs.provider, dirs.mediator]) {
      const log = await EventLog.open(join(dir, 'log'), { inspect: true })
      const index = new DealIndex()
      const report = await auditLog(log, roleDefinitions(), { observe: index.observe })
      traces.push({ name: dir, report, trace: (await index.trace(log, dealId))! })
      await log.close()
    }
    expect(compareDeal(dealId, traces).ok).toBe(true)
    traces[2]!.trace.deals[0]!.parties[0]!.verdict = 'MediationRejected'
    expect(compareDeal(dealId, traces).disagreement).toMatchObject({
      code: 'ERR_OUTCOME', log: dirs.creator, other: { log: dirs.mediator }, reason: 'its job-creator ended the deal MediationAccepted, but the mediator\'s verdict was MediationRejected'
    })
    // on a deal that asks for a quorum of verdicts a mediator may be outvoted: its verdict may differ
    // from the outcome (the terms are changed in every log, and their chain forgotten, so that they
    // still agree with each other)
    for (const t of traces) {
      const deal = t.trace.deals[0]!
      deal.terms = { ...deal.terms!, quorum: 2 }
      deal.domain = null
    }
    expect(compareDeal(dealId, traces).ok).toBe(true)
  })

  it('answers bad input in one line with exit 2, from the command line too', async () => {
    const { dirs, dealId } = accepted
    expect(await auditDeal('0x12', [dirs.creator])).toMatchObject({ code: 2, out: '', err: 'lilypad audit deal: 0x12 is not a deal id or a job offer id (0x and 64 hex digits)\n' })
    expect(await auditDeal(dealId, [dirs.creator, join(root, 'nowhere')])).toMatchObject({ code: 2, out: '', err: expect.stringMatching(/^lilypad audit deal: no event log in .*nowhere.*\n$/) })
    expect(await auditDeal(dealId, [dirs.creator, mediated.dirs.provider])).toMatchObject({ code: 2, err: `lilypad audit deal: no deal ${dealId} in the log of ${mediated.dirs.provider}\n` })
    const cli = spawnSync(process.execPath, ['bin/lilypad.js', 'audit', 'deal', '0x' + 'cd'.repeat(32), dirs.creator, dirs.provider], { cwd: repoRoot, encoding: 'utf8' })
    expect(cli.status).toBe(2)
    expect(cli.stdout).toBe('')
    expect(cli.stderr).toBe(`lilypad audit deal: no deal or job offer 0x${'cd'.repeat(32)} in any of these logs\n`)
    const ok = spawnSync(process.execPath, ['bin/lilypad.js', 'audit', 'deal', dealId, dirs.creator, dirs.provider, '--json'], { cwd: repoRoot, encoding: 'utf8' })
    expect(ok.status).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, dealId })
  })
})

/** The seq of the output with this id. */
async function outputSeq (dataDir: string, id: string): Promise<number> {
  const log = await EventLog.open(join(dataDir, 'log'), { inspect: true })
  try {
    for await (const r of log.read(1)) if (r.type === 'output' && (r.data as { output: { id: string } }).output.id === id) return r.seq
  } finally {
    await log.close()
  }
  throw new Error(`no output ${id} in ${dataDir}`)
}

/** Deletes the records after `keep`, as a raw LevelDB delete would. */
async function cutAfter (dataDir: string, keep: number): Promise<void> {
  const { db, records } = rawLog(dataDir)
  try {
    const keys: string[] = []
    for await (const key of records.keys({ gt: seqKey(keep) })) keys.push(key)
    await records.batch(keys.map(key => ({ type: 'del' as const, key })))
  } finally {
    await db.close()
  }
}

/** A party's log of a deal, audited and traced, as the cross-node audit takes it. */
async function partyLog (dir: string, dealId: string): Promise<{ name: string, report: Awaited<ReturnType<typeof auditLog>>, trace: NonNullable<Awaited<ReturnType<DealIndex['trace']>>> }> {
  const log = await EventLog.open(join(dir, 'log'), { inspect: true })
  try {
    const index = new DealIndex()
    const report = await auditLog(log, roleDefinitions(), { observe: index.observe })
    const trace = await index.trace(log, dealId)
    if (trace === undefined) throw new Error(`no deal ${dealId} in ${dir}`)
    return { name: dir, report, trace }
  } finally {
    await log.close()
  }
}
