import { pathOf, reply, type Route } from './routes.ts'

/** `GET /metrics`: the node's metrics in the Prometheus text format. */
export const metricsRoute: Route = async (req, res, { node }) => {
  if (pathOf(req) !== '/metrics') return false
  if (req.method !== 'GET') { reply(res, 405, { error: 'only GET' }); return true }
  const text = await node.metrics.scrape()
  res.writeHead(200, { 'content-type': node.metrics.contentType })
  res.end(text)
  return true
}
