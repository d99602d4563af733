/**
 * A node's log held against the chain (`lilypad audit --rpc-url`): the deals it settled against the
 * chain's records, and the chain's events about the node against the deals the log holds. The chain
 * here is a scripted view; the end-to-end test holds real logs against a real chain.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { EventLog } from '../../../src/actors/eventlog/event-log.ts'
import { auditLog } from '../../../src/actors/audit.ts'
import { DealIndex } from '../../../src/actors/audit-deal.ts'
import { auditAgainstChain, type ChainView } from '../../../src/actors/audit-chain.ts'
import { runAudit } from '../../../src/cli/commands/audit.ts'
import { roleDefinitions } from '../../../src/cli/definitions.ts'
import { dealLogs, parties, type DealLogs } from '../../support/deal-logs.ts'

let root: string
let accepted: DealLogs

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'lilypad-audit-chain-'))
  accepted = await dealLogs(join(root, 'accepted'), 'accepted')
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

async function indexOf (dir: string): Promise<DealIndex> {
  const log = await EventLog.open(join(dir, 'log'), { inspect: true })
  try {
    const index = new DealIndex()
    expect((await auditLog(log, roleDefinitions(), { observe: index.observe })).ok).toBe(true)
    return index
  } finally {
    await log.close()
  }
}

function chain (record: { state: string, outcome?: string }, paid: string[]): ChainView {
  return {
    dealRecord: async () => record,
    dealEventsOf: async () => paid.map((dealId, i) => ({ dealId, what: 'paid', amount: 990n, blockNumber: 10 + i, transactionHash: '0x' + 'aa'.repeat(32) }))
  }
}

describe('a log against the chain', () => {
  it('agrees when the chain settled the deal as the log says, and paid the node for no other deal', async () => {
    for (const [who, party] of [['creator', parties.creator], ['provider', parties.provider]] as const) {
      const report = await auditAgainstChain(await indexOf(accepted.dirs[who]), party.address, chain({ state: 'Settled', outcome: 'Accepted' }, [accepted.dealId]))
      expect(report).toEqual({ ok: true, node: party.address, checked: 1, events: 1, findings: [] })
    }
  })

  it('names a deal the log holds settled that the chain does not, or settled otherwise', async () => {
    const index = await indexOf(accepted.dirs.provider)
    const open = await auditAgainstChain(index, parties.provider.address, chain({ state: 'ResultsSubmitted' }, []))
    expect(open.findings).toEqual([{ dealId: accepted.dealId, code: 'NOT_SETTLED_ON_CHAIN', reason: 'the provider recorded the deal settled as Accepted; the chain holds it as ResultsSubmitted' }])
    const other = await auditAgainstChain(index, parties.provider.address, chain({ state: 'Settled', outcome: 'TimeoutJudge' }, []))
    expect(other.findings.map(f => f.code)).toEqual(['OUTCOME_DIFFERS'])
  })

  it('names a deal the chain paid the node for that the log holds nothing of: a log cut short, or rewritten without it', async () => {
    const missing = '0x' + '77'.repeat(32)
    const report = await auditAgainstChain(await indexOf(accepted.dirs.creator), parties.creator.address, chain({ state: 'Settled', outcome: 'Accepted' }, [accepted.dealId, missing, missing]))
    expect(report.ok).toBe(false)
    expect(report.findings).toEqual([expect.objectContaining({ dealId: missing, code: 'MISSING_FROM_LOG', reason: expect.stringContaining('paid (990 wei)') })])
  })

  it('writes the audit as a document with --format md: a summary, a table of the deals, and the findings', async () => {
    let out = ''
    expect(await runAudit(accepted.dirs.provider, { format: 'md' }, roleDefinitions(), (t) => { out += t }, () => {})).toBe(0)
    expect(out).toMatch(/^# Audit of .+\n\n\*\*OK\*\*, written \d{4}-/)
    expect(out).toContain(`| node | ${parties.provider.address} |`)
    expect(out).toContain(`| \`${accepted.dealId}\` | \`${accepted.jobOfferId}\` | resource-provider | Accepted | Accepted | `)
    expect(out).toContain('## Findings\n\nNone: every record checks out, replay reproduces every output.')
    // a record changed by one byte is a finding, named by its record
    const { Level } = await import('level')
    const { cp } = await import('node:fs/promises')
    const copy = join(root, 'md-tampered')
    await cp(accepted.dirs.provider, copy, { recursive: true })
    const db = new Level<string, string>(join(copy, 'log'), { valueEncoding: 'utf8' })
    const records = db.sublevel<string, string>('r', { valueEncoding: 'utf8' })
    const key = '0000000000000003'
    await records.put(key, (await records.get(key))!.replace(/"at":(\d)/, (_m, d: string) => `"at":${(Number(d) + 1) % 10}`))
    await db.close()
    out = ''
    expect(await runAudit(copy, { format: 'md' }, roleDefinitions(), (t) => { out += t }, () => {})).toBe(1)
    expect(out).toMatch(/\*\*FAILED: 1 finding\(s\)\*\*/)
    expect(out).toMatch(/## Findings\n\n- record 3: .+ \(`ERR_LOG_[A-Z_]+`\)/)
    let err = ''
    expect(await runAudit(accepted.dirs.provider, { format: 'pdf' }, roleDefinitions(), () => {}, (t) => { err += t })).toBe(2)
    expect(err).toBe('lilypad audit: --format is one of text, json, md, not pdf\n')
  })

  it('wants the chain and its settlement contract together, and says so in one line', async () => {
    let err = ''
    const code = await runAudit(accepted.dirs.creator, { rpcUrl: 'http://127.0.0.1:9' }, roleDefinitions(), () => {}, (t) => { err += t })
    expect(code).toBe(2)
    expect(err).toBe('lilypad audit: --rpc-url and --settlement go together: the chain, and the settlement contract on it\n')
    err = ''
    expect(await runAudit(accepted.dirs.creator, { rpcUrl: 'http://127.0.0.1:9', settlement: '0x' + '5e'.repeat(20), fromBlock: 'yesterday' }, roleDefinitions(), () => {}, (t) => { err += t })).toBe(2)
    expect(err).toBe('lilypad audit: --from-block is a block number, not yesterday\n')
    err = ''
    const unreachable = await runAudit(accepted.dirs.creator, { rpcUrl: 'http://127.0.0.1:9', settlement: '0x' + '5e'.repeat(20) }, roleDefinitions(), () => {}, (t) => { err += t })
    expect(unreachable).toBe(2)
    expect(err).toMatch(/^lilypad audit: cannot hold the log against the chain: .+\n$/)
    expect(err).not.toMatch(/--from-block/)
  })

  it('suggests --from-block when the chain answers but refuses to search its events from block 0', async () => {
    // a chain whose every read answers zeros, and whose event search is refused as a public RPC node refuses a wide one
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (chunk: Buffer) => { body += chunk.toString() })
      req.on('end', () => {
        const calls = [JSON.parse(body)].flat() as Array<{ id: number, method: string }>
        const answers = calls.map(({ id, method }) => method === 'eth_getLogs'
          ? { jsonrpc: '2.0', id, error: { code: -32005, message: 'query exceeds the 10000 blocks one search may span' } }
          : { jsonrpc: '2.0', id, result: method === 'eth_chainId' ? '0x7a69' : method === 'eth_call' ? '0x' + '00'.repeat(32 * 5) : '0x1' })
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify(Array.isArray(JSON.parse(body)) ? answers : answers[0]))
      })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    try {
      const rpcUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      let err = ''
      const code = await runAudit(accepted.dirs.creator, { rpcUrl, settlement: '0x' + '5e'.repeat(20) }, roleDefinitions(), () => {}, (t) => { err += t })
      expect(code).toBe(2)
      expect(err).toMatch(/^lilypad audit: cannot hold the log against the chain: .*10000 blocks.* give --from-block <the block the node started at>\)\n$/)
    } finally {
      server.close()
    }
  })
})
