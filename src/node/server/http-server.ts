import { createServer, type Server } from 'node:http'
import type { Role } from '../../actors/roles/role-host.ts'
import type { DealActivity } from '../activity/deal-activity.ts'
import type { LilypadNode } from '../node.ts'
import { refusal, type ApiAccess } from './access.ts'
import { JobBoard, type JobBoardOptions } from './job-board.ts'
import { jobRoutes } from './job-routes.ts'
import { pathOf, reply, type ApiContext, type Route } from './routes.ts'
import { statusRoutes } from './status-routes.ts'
import { metricsRoute } from './metrics-route.ts'
import { dashboardRoutes } from './dashboard-routes.ts'
import { openApiRoute } from './openapi.ts'
import { resultsRoutes } from './results-routes.ts'
import { packageVersion } from '../package-version.ts'

export interface ApiOptions {
  roles: Role[]
  port: number
  access: ApiAccess
  activity: DealActivity
  /** a job-creator node's job settings: the API then takes jobs */
  jobs?: JobBoardOptions
  /** routes beside the node's own (tried after them) */
  routes?: Route[]
}

/**
 * The node's HTTP API: `GET /health`, `GET /status`, and on a job-creator node `/jobs`. It listens
 * on 127.0.0.1 unless told otherwise, and then every request but the open ones must carry the
 * node's bearer token (access.ts). Every request must name the API in its Host header.
 */
export async function startApi (node: LilypadNode, options: ApiOptions): Promise<{ server: Server, port: number, board?: JobBoard }> {
  const board = options.jobs === undefined ? undefined : await JobBoard.open(node, options.jobs)
  const api: ApiContext = { node, roles: options.roles, activity: options.activity, ...(board === undefined ? {} : { board }) }
  const routes: Route[] = [
    statusRoutes,
    metricsRoute,
    openApiRoute(packageVersion()),
    resultsRoutes,
    dashboardRoutes,
    ...(board === undefined ? [] : [jobRoutes]),
    ...(options.routes ?? [])
  ]
  const server = createServer((req, res) => {
    const refused = refusal(req, pathOf(req), options.access)
    if (refused !== null) return reply(res, refused.status, { error: refused.error })
    answer(routes, req, res, api).catch((err: Error) => {
      if (!res.headersSent) reply(res, 500, { error: err.message.split('\n')[0] })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.access.host, () => resolve())
  })
  const address = server.address()
  return { server, port: typeof address === 'object' && address !== null ? address.port : options.port, ...(board === undefined ? {} : { board }) }
}

async function answer (routes: Route[], req: Parameters<Route>[0], res: Parameters<Route>[1], api: ApiContext): Promise<void> {
  for (const route of routes) {
    if (await route(req, res, api)) return
  }
  reply(res, 404, { error: 'not found' })
}
