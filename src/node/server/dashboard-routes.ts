import { streamActivity } from './activity-events.ts'
import { serveDashboardFile } from './dashboard-files.ts'
import { logTail, recordsNaming } from './log-reads.ts'
import { meshView } from './mesh-view.ts'
import { pathOf, reply, type Route } from './routes.ts'

const DEAL_ID = /^0x[0-9a-fA-F]{64}$/
const DEFAULT_TAIL = 50
const MAX_TAIL = 1000

/**
 * The dashboard (`/dashboard`, its files open to all: they hold nothing of the node) and what its
 * page reads, behind the token like the rest of the API: `GET /activity` (server-sent events),
 * `GET /mesh`, `GET /deals/<id>/history` and `GET /log/tail?n=`.
 */
export const dashboardRoutes: Route = async (req, res, api) => {
  const path = pathOf(req)
  if (await serveDashboardFile(req, res, path)) return true
  const history = /^\/deals\/([^/]+)\/history$/.exec(path)
  if (path !== '/activity' && path !== '/mesh' && path !== '/log/tail' && history === null) return false
  if (req.method !== 'GET') { reply(res, 405, { error: 'only GET' }); return true }
  if (path === '/activity') streamActivity(res, api)
  else if (path === '/mesh') reply(res, 200, meshView(api.node))
  else if (path === '/log/tail') {
    const n = tailLength(new URL(req.url ?? '/', 'http://api').searchParams.get('n'))
    if (n === undefined) reply(res, 400, { error: `n must be a whole number of records, 1 to ${MAX_TAIL}` })
    else reply(res, 200, { head: api.node.log.length, records: await logTail(api.node.log, n) })
  } else {
    const dealId = history![1]!.toLowerCase()
    if (!DEAL_ID.test(dealId)) { reply(res, 400, { error: 'a deal id is 0x and 64 hex digits' }); return true }
    const offers = [...new Set(api.activity.current().filter(d => d.dealId?.toLowerCase() === dealId).map(d => d.jobOfferId))]
    const found = await recordsNaming(api.node.log, [dealId, ...offers])
    if (found.records.length === 0) reply(res, 404, { error: `this node's log holds nothing about deal ${dealId}` })
    else reply(res, 200, { dealId, jobOfferIds: offers, ...found })
  }
  return true
}

function tailLength (text: string | null): number | undefined {
  if (text === null) return DEFAULT_TAIL
  const n = /^\d{1,6}$/.test(text) ? Number(text) : 0
  return n >= 1 && n <= MAX_TAIL ? n : undefined
}
