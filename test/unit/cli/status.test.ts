import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { STATUS_EXIT, statusCommand } from '../../../src/cli/commands/status.ts'

const STATUS = {
  address: '0xAb', peerId: '16Uiu2', roles: ['resource-provider'], multiaddrs: ['/ip4/127.0.0.1/tcp/4001'], peers: 3, streams: 1, logRecords: 42, pendingOutputs: 1,
  deals: [
    { role: 'resource-provider', jobOfferId: '0x01', dealId: '0xd1', state: 'Agreed', resultsCid: null },
    { role: 'resource-provider', jobOfferId: '0x02', dealId: '0xd2', state: 'Settled', resultsCid: 'QmR' }
  ]
}
let server: Server
let api: string

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/status') { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(STATUS)) } else { res.writeHead(404); res.end() }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => { await new Promise(resolve => server.close(resolve)) })
afterEach(() => { vi.unstubAllEnvs() })

async function status (flags: { node?: string, json?: boolean }): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await statusCommand(flags, t => { out += t }, t => { err += t })
  return { code, out, err }
}

describe('lilypad status', () => {
  test('shows the node, its peers, its log and its deals by state', async () => {
    const r = await status({ node: api })
    expect(r.code).toBe(STATUS_EXIT.ok)
    expect(r.out).toContain('node 0xAb (resource-provider), peer 16Uiu2')
    expect(r.out).toContain('3 peer(s) connected')
    expect(r.out).toContain('log: 42 records, 1 stream(s), 1 output(s) being carried out')
    expect(r.out).toContain('deals: 1 resource-provider Agreed, 1 resource-provider Settled')
    expect(r.out).toMatch(/0xd2 +resource-provider +Settled +QmR/)
    expect(JSON.parse((await status({ node: api, json: true })).out)).toEqual(STATUS)
  })

  test('says in one line when no node answers, or none is named', async () => {
    const gone = await status({ node: 'http://127.0.0.1:1' })
    expect(gone.code).toBe(STATUS_EXIT.noNode)
    expect(gone.err).toMatch(/^lilypad status: no node answers at http:\/\/127\.0\.0\.1:1: .+\n$/)
    vi.stubEnv('LILYPAD_NODE_API', '')
    const unnamed = await status({})
    expect(unnamed.code).toBe(STATUS_EXIT.badInput)
    expect(unnamed.err).toBe('lilypad status: name the node\'s API with --node <url> or LILYPAD_NODE_API (a node serves it with --api-port)\n')
  })
})
