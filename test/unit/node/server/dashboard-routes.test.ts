import { createServer, request, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { EventLog } from '../../../../src/actors/eventlog/event-log.ts'
import { ActorRecord } from '../../../../src/actors/runtime/records.ts'
import { dashboardRoutes } from '../../../../src/node/server/dashboard-routes.ts'
import type { ApiContext } from '../../../../src/node/server/routes.ts'
import type { Activity } from '../../../../src/node/activity/deal-activity.ts'

const DEAL = '0x' + 'ab'.repeat(32)
const OTHER = '0x' + 'cd'.repeat(32)

/** GET (or another method) of a raw path: fetch would resolve `..` before sending it. */
function get (port: number, path: string, method = 'GET'): Promise<{ status: number, type: string, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the dashboard routes', () => {
  let server: Server
  let port: number
  let log: EventLog

  beforeAll(async () => {
    log = await EventLog.inMemory()
    await log.append([
      { type: ActorRecord.output, data: { stream: 'resource-provider', output: { type: 'job.run', id: `run:${DEAL}`, purpose: 'deal' } } },
      { type: ActorRecord.output, data: { stream: 'resource-provider', output: { type: 'job.run', id: `run:${OTHER}`, purpose: 'deal' } } },
      { type: ActorRecord.ack, data: { stream: 'resource-provider', id: `run:${DEAL}` } }
    ])
    const api = { node: { log }, activity: { current: () => [] } } as unknown as ApiContext
    server = createServer((req, res) => {
      Promise.resolve(dashboardRoutes(req, res, api)).then((handled) => {
        if (!handled) { res.writeHead(404); res.end() }
      }, () => { res.writeHead(500); res.end() })
    })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as { port: number }).port
  })

  afterAll(async () => {
    await new Promise(resolve => server.close(resolve))
    await log.close()
  })

  test('serves the page and its files with their types, straight from src/dashboard', async () => {
    const page = await get(port, '/dashboard')
    expect(page).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' })
    expect(page.body).toBe(await readFile(new URL('../../../../src/dashboard/index.html', import.meta.url), 'utf8'))
    expect(await get(port, '/dashboard/')).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' })
    expect(await get(port, '/dashboard/app.js')).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8' })
    expect(await get(port, '/dashboard/style.css')).toMatchObject({ status: 200, type: 'text/css; charset=utf-8' })
  })

  test('nothing else: unknown files, other folders and paths that climb out are 404; only GET', async () => {
    for (const path of ['/dashboard/nope.js', '/dashboard/../package.json', '/dashboard/..%2F..%2Fpackage.json', '/dashboard/%2e%2e/node/server/routes.ts', '/dashboard//etc/passwd', '/dashboard/index.html/', '/dashboard/./app.js']) {
      const answer = await get(port, path)
      expect(answer.status, path).toBe(404)
      expect(answer.type, path).toBe('application/json')
    }
    expect((await get(port, '/dashboard/app.js', 'POST')).status).toBe(405)
    expect((await get(port, '/dashboardx')).status).toBe(404)
  })

  test('the log tail is the last records, a line each; a bad length is a 400', async () => {
    const tail = JSON.parse((await get(port, '/log/tail?n=2')).body) as { head: number, records: Array<{ seq: number, stream: string, what: string }> }
    expect(tail.head).toBe(4)
    expect(tail.records.map(r => r.seq)).toEqual([3, 4])
    expect(tail.records[0]).toMatchObject({ stream: 'resource-provider', what: 'run the job (deal)' })
    expect(tail.records[1]!.what).toBe('done: run:0xabab…abab')
    for (const n of ['0', '-1', 'x', '1001']) expect((await get(port, `/log/tail?n=${n}`)).status, n).toBe(400)
  })

  test('a deal\'s history is the records that name it; a deal the log does not name is a 404', async () => {
    const history = JSON.parse((await get(port, `/deals/${DEAL}/history`)).body) as { dealId: string, records: Array<{ seq: number }>, truncated: boolean }
    expect(history.records.map(r => r.seq)).toEqual([2, 4])
    expect(history.truncated).toBe(false)
    expect((await get(port, `/deals/0x${'ef'.repeat(32)}/history`)).status).toBe(404)
    expect((await get(port, '/deals/nodeal/history')).status).toBe(400)
  })

  test('the activity stream sends the deals now, then each activity; it ends when the server closes, and its listener goes', async () => {
    const listeners = new Set<(a: Activity) => void>()
    const activity = {
      current: () => [{ role: 'job-creator', jobOfferId: OTHER, dealId: null, state: 'JobOffered', resultsCid: null }],
      subscribe: (listener: (a: Activity) => void) => { listeners.add(listener); return () => { listeners.delete(listener) } }
    }
    const runtime = { snapshot: () => ({ context: { job: { matchDeadline: 1234 }, deal: null, dealId: null } }) }
    const api = { node: { log, host: { runtime } }, activity } as unknown as ApiContext
    const streaming = createServer((req, res) => { void dashboardRoutes(req, res, api) })
    await new Promise<void>(resolve => streaming.listen(0, '127.0.0.1', resolve))
    const res = await fetch(`http://127.0.0.1:${(streaming.address() as { port: number }).port}/activity`)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    const readUntil = async (wanted: string): Promise<void> => {
      while (!text.includes(wanted)) text += decoder.decode((await reader.read()).value)
    }
    await readUntil('\n\n')
    expect(text).toMatch(/^event: snapshot\ndata: .*"deadlines":\{"matchDeadline":1234\}/)
    for (const listener of listeners) listener({ kind: 'effect.start', stream: 'resource-provider', id: `run:${DEAL}`, type: 'job.run', dealId: DEAL, at: 5 })
    await readUntil('event: activity')
    await readUntil('\n\n')
    expect(text).toContain(`"dealId":"${DEAL}"`)
    const closed = new Promise(resolve => streaming.close(resolve))
    await expect(async () => { while (!(await reader.read()).done); }).rejects.toThrow()
    await closed
    await expect.poll(() => listeners.size).toBe(0)
  })
})
