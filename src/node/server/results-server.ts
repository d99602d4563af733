import { createServer, type Server } from 'node:http'
import { resultsGateway } from '../../executor/results/gateway.ts'
import type { ResultsStore } from '../../executor/results/store.ts'

/**
 * The node's results gateway: every results folder this node holds, by CID, over HTTP
 * (`GET /ipfs/<cid>?format=raw` for verified fetches, `GET /ipfs/<cid>/<path>` for files, with
 * ranges). Unlike the API, it faces the network: results are public once submitted, and their
 * CIDs are in the signed messages of the deal.
 */
export async function startResultsServer (store: ResultsStore, port: number, host: string): Promise<{ server: Server, url: string }> {
  const handle = resultsGateway(store.blockstore)
  const server = createServer((req, res) => {
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
