import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { JobError, LilypadClient, NodeApiError, type JobView } from '../../../src/client/index.ts'

const RESULT = { outcome: 'Accepted', dealId: '0xdeal', resultsCid: 'bafy', resultsDir: '/r', stdout: 'moo', checked: false, settled: false, provider: '0xp', timings: {} }

function view (over: Partial<JobView>): JobView {
  return { id: 'j1', module: 'cowsay:v0.0.1', submittedAt: 1, phase: 'submitted', phases: [], done: false, dealId: null, state: 'JobOffered', result: null, error: null, cancelled: false, ...over } as JobView
}

/** A job-creator node's API as the client sees it: one job, whose phases are sent on demand. */
function fakeNode (script: (res: ServerResponse) => void, job: JobView = view({ result: RESULT })): Promise<{ server: Server, url: string, requests: string[] }> {
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`.trim())
    if (req.method === 'POST' && req.url === '/jobs') { res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(view({}))); return }
    if (req.url === '/jobs/j1/events') { res.writeHead(200, { 'content-type': 'text/event-stream' }); script(res); return }
    if (req.url === '/jobs/j1') { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(job)); return }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'no such job', code: 'NOT_FOUND' }))
  })
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests })))
}

const phase = (res: ServerResponse, name: string): boolean => res.write(`event: phase\ndata: ${JSON.stringify({ phase: name, at: 5, detail: {} })}\n\n`)

describe('LilypadClient', () => {
  let server: Server | undefined
  afterEach(async () => { server?.closeAllConnections(); await new Promise(resolve => server?.close(resolve)) })

  it('returns once the results are verified, while the node goes on to settle', async () => {
    const node = await fakeNode(res => { phase(res, 'offered'); phase(res, 'matched'); phase(res, 'verified') /* the stream stays open: settlement comes later */ })
    server = node.server
    const heard: string[] = []
    const result = await new LilypadClient({ url: node.url, token: 't0k' }).run({ module: 'cowsay:v0.0.1', inputs: { Message: 'moo' } }, { onPhase: p => heard.push(p) })
    expect(result).toMatchObject({ outcome: 'Accepted', stdout: 'moo', settled: false })
    expect(heard).toEqual(['offered', 'matched', 'verified'])
    expect(node.requests).toEqual(['POST /jobs Bearer t0k', 'GET /jobs/j1/events Bearer t0k', 'GET /jobs/j1 Bearer t0k'])
  })

  it('takes the view the node sends just before the verified phase, asking for nothing more', async () => {
    const node = await fakeNode(res => {
      phase(res, 'offered')
      res.write(`event: view\ndata: ${JSON.stringify(view({ phase: 'verified', result: { ...RESULT, stdout: 'sent along' } }))}\n\n`)
      phase(res, 'verified')
    })
    server = node.server
    const result = await new LilypadClient(node.url).run({ module: 'cowsay:v0.0.1' })
    expect(result).toMatchObject({ outcome: 'Accepted', stdout: 'sent along' })
    expect(node.requests).toEqual(['POST /jobs', 'GET /jobs/j1/events'])
  })

  it('waits for the settlement when asked, and reports a failed job as a JobError with its code', async () => {
    const settled = await fakeNode(res => { phase(res, 'verified'); phase(res, 'settled'); res.end(`event: done\ndata: ${JSON.stringify(view({ done: true, result: { ...RESULT, settled: true } }))}\n\n`) })
    server = settled.server
    const result = await new LilypadClient(settled.url).follow('j1', { until: 'settled' })
    expect(result).toMatchObject({ settled: true })
    server.closeAllConnections(); server.close()

    const failed = await fakeNode(res => res.end(`event: done\ndata: ${JSON.stringify(view({ done: true, error: { code: 'NO_MATCH', message: 'no provider matched' } }))}\n\n`))
    server = failed.server
    await expect(new LilypadClient(failed.url).follow('j1')).rejects.toSatisfy((e: unknown) => e instanceof JobError && e.code === 'NO_MATCH' && e.message === 'no provider matched')
    await expect(new LilypadClient(failed.url).job('nope')).rejects.toSatisfy((e: unknown) => e instanceof NodeApiError && e.status === 404 && e.code === 'NOT_FOUND')
  })

  it('says no node answers (NO_PEERS) when nothing listens, and refuses a URL that is none', async () => {
    await expect(new LilypadClient('http://127.0.0.1:9').submit({ module: 'cowsay:v0.0.1' })).rejects.toSatisfy((e: unknown) => e instanceof JobError && e.code === 'NO_PEERS')
    expect(() => new LilypadClient('not a url')).toThrow(/not a URL/)
  })
})
