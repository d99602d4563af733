import { createServer, type Server } from 'node:http'
import type { LilypadNode } from '../node.ts'
import { dealStatuses } from './deal-status.ts'
import { JobBoard, type JobBoardOptions } from './job-board.ts'
import { handleJobs } from './job-routes.ts'

/**
 * The node's local HTTP API on 127.0.0.1: `GET /health` and `GET /status`. The status names, for
 * each deal this node's machines hold, the deal state it is in, so that operators (and fault tests)
 * can follow deals from outside the process. Given `jobs` (a job-creator node's job settings), it
 * also takes jobs: `POST /jobs`, `GET /jobs/<id>`, `GET /jobs/<id>/events` (job-api.ts).
 */
export async function startApi (node: LilypadNode, roles: string[], port: number, jobs?: JobBoardOptions): Promise<{ server: Server, port: number }> {
  const board = jobs === undefined ? undefined : new JobBoard(node, jobs)
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (board !== undefined && req.url?.startsWith('/jobs') === true) {
      handleJobs(board, req, res, reply).then(
        (handled) => { if (!handled) reply(404, { error: 'not found' }) },
        (err: Error) => { if (!res.headersSent) reply(500, { error: err.message.split('\n')[0] }) }
      )
      return
    }
    if (req.method !== 'GET') return reply(405, { error: 'only GET' })
    if (req.url === '/health') return reply(200, { ok: true })
    if (req.url === '/status') {
      const runtime = node.host.runtime
      const snapshots = runtime.streams().map(stream => {
        const snapshot = runtime.snapshot(stream)!
        // streams are named for their role (one job-creator stream per job: job:<offer id>)
        return { stream, machine: stream.startsWith('job:') ? 'job-creator' : stream, context: snapshot.context as unknown }
      })
      return reply(200, {
        address: node.address,
        peerId: node.mesh.peerId.toString(),
        roles,
        multiaddrs: node.mesh.multiaddrs().map(String),
        peers: node.mesh.libp2p.getPeers().length,
        /** gossipsub's score of each connected peer: what it earned or lost with this node */
        peerScores: Object.fromEntries(node.mesh.libp2p.getPeers().map(peer => [peer.toString(), node.mesh.score(peer)])),
        /** gossip validation outcomes by topic, result and code */
        validation: node.mesh.validationCounters(),
        /** messages no machine took (refused, or none of their business): counted, not kept */
        untakenMessages: node.host.untaken,
        streams: node.host.runtime.streams().length,
        logRecords: node.log.length,
        replayed: runtime.startReport.replayed,
        resumedOutputs: runtime.startReport.resumed,
        pendingOutputs: runtime.pendingOutputs().length,
        deals: dealStatuses(snapshots, Date.now())
      })
    }
    reply(404, { error: 'not found' })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const address = server.address()
  return { server, port: typeof address === 'object' && address !== null ? address.port : port }
}
