import { createServer, type Server } from 'node:http'
import { resultsGateway } from '../../executor/results/gateway.ts'
import type { ResultsStore } from '../../executor/results/store.ts'

/** How many requests the gateway serves at once, from one client and from all. */
export interface GatewayLimits {
  perClient: number
  total: number
}

const DEFAULT_LIMITS: GatewayLimits = { perClient: 8, total: 64 }

/**
 * The node's results gateway: every results folder this node holds, by CID, over HTTP
 * (`GET /ipfs/<cid>?format=raw` for verified fetches, `GET /ipfs/<cid>/<path>` for files, with
 * ranges). Unlike the API, it faces the network: results are public once submitted, and their
 * CIDs are in the signed messages of the deal. It serves a few requests at once per client and a
 * bounded number in all; more are answered 429 at once, so no one peer can take it over.
 */
export async function startResultsServer (store: ResultsStore, port: number, host: string, limits: GatewayLimits = DEFAULT_LIMITS): Promise<{ server: Server, url: string }> {
  const handle = resultsGateway(store.blockstore)
  const serving = new Map<string, number>()
  let total = 0
  const server = createServer((req, res) => {
    const client = req.socket.remoteAddress ?? ''
    const mine = serving.get(client) ?? 0
    if (mine >= limits.perClient || total >= limits.total) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' })
      res.end(JSON.stringify({ error: `busy: at most ${limits.perClient} requests at once per client, ${limits.total} in all` }) + '\n')
      return
    }
    serving.set(client, mine + 1)
    total++
    res.once('close', () => {
      total--
      const left = (serving.get(client) ?? 1) - 1
      if (left === 0) serving.delete(client)
      else serving.set(client, left)
    })
    handle(req, res).then(
      (handled) => { if (!handled) { res.writeHead(404, { 'content-type': 'application/json' }); res.end(JSON.stringify({ error: 'not found: results are under /ipfs/<cid>' }) + '\n') } },
      (err: Error) => { if (!res.headersSent) { res.writeHead(500, { 'content-type': 'application/json' }); res.end(JSON.stringify({ error: err.message.split('\n')[0] }) + '\n') } else res.destroy(err) }
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  return { server, url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${bound}` }
}
