import type { IncomingMessage } from 'node:http'
import type { JobBoard, PhaseEvent } from './job-board.ts'
import { JobError } from '../jobs/job-on-node.ts'
import { BadRequest, parseJobRequest } from './job-request.ts'
import { pathOf, reply as replyTo, type Route } from './routes.ts'

const MAX_BODY = 64 * 1024

type Reply = (status: number, body: unknown) => void

/**
 * A job-creator node's jobs: `GET /jobs` (the list, newest first), `POST /jobs`, `GET /jobs/<id>`,
 * `GET /jobs/<id>/events` (server-sent events: each phase as `event: phase`, the job's view as
 * `event: view` just before its `verified` phase, then `event: done` with the job's view) and `POST /jobs/<id>/cancel`. A submission must be JSON (no cross-site form
 * posts); the server has checked the Host header and the token before.
 */
export const jobRoutes: Route = async (req, res, api) => {
  const board = api.board
  const match = /^\/jobs(?:\/([0-9a-zA-Z]+)(\/events|\/cancel)?)?\/?$/.exec(pathOf(req))
  if (board === undefined || match === null) return false
  const reply: Reply = (status, body) => { replyTo(res, status, body) }
  const [, id, sub] = match
  if (id === undefined) {
    if (req.method === 'GET') { reply(200, { jobs: board.list() }); return true }
    if (req.method !== 'POST') { reply(405, { error: 'POST a job to /jobs, or GET the list' }); return true }
    await submit(board, req, reply)
    return true
  }
  if (sub === '/cancel') {
    if (req.method !== 'POST') { reply(405, { error: 'POST to cancel a job' }); return true }
    const outcome = await board.cancel(id)
    if (outcome === 'unknown') reply(404, { error: `no job ${id} on this node` })
    else if (outcome === 'too-late') reply(409, { error: `job ${id} has a deal already: a signed deal is not called off`, code: 'TOO_LATE' })
    else reply(200, board.get(id))
    return true
  }
  if (req.method !== 'GET') { reply(405, { error: 'only GET' }); return true }
  const events = sub
  const view = board.get(id)
  if (view === undefined) { reply(404, { error: `no job ${id} on this node` }); return true }
  if (events === undefined) { reply(200, view); return true }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
  const send = (event: string, data: unknown): void => { res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) }
  // the view, with its result, just before the phase a client following until then stops at
  const sendPhase = (phase: PhaseEvent): void => {
    if (phase.phase === 'verified') send('view', board.get(id))
    send('phase', phase)
  }
  for (const phase of view.phases) sendPhase(phase)
  if (view.done) {
    send('done', view)
    res.end()
    return true
  }
  const stop = board.subscribe(id, (event) => {
    if (event !== 'done') return sendPhase(event)
    send('done', board.get(id))
    res.end()
  })
  res.once('close', stop)
  return true
}

async function submit (board: JobBoard, req: IncomingMessage, reply: Reply): Promise<void> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return reply(415, { error: 'a job is submitted as application/json' })
  let body: unknown
  try {
    body = JSON.parse(await readBody(req))
  } catch (err) {
    return reply(err instanceof BadRequest ? 413 : 400, { error: err instanceof BadRequest ? err.message : 'the body is not valid JSON' })
  }
  try {
    const view = await board.submit(parseJobRequest(body))
    reply(202, view)
  } catch (err) {
    const message = (err as Error).message.split('\n')[0]
    if (err instanceof BadRequest) return reply(400, { error: message, code: 'BAD_INPUT' })
    if (err instanceof JobError) return reply(err.code === 'NO_PEERS' ? 503 : err.code === 'BAD_INPUT' ? 400 : 409, { error: message, code: err.code })
    reply(500, { error: message, code: 'FAILED' })
  }
}

function readBody (req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_BODY) chunks.push(chunk)
    })
    req.on('end', () => size > MAX_BODY ? reject(new BadRequest(`the body is over ${MAX_BODY} bytes`)) : resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}
