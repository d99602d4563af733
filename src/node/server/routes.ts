import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Role } from '../../actors/roles/role-host.ts'
import type { DealActivity } from '../activity/deal-activity.ts'
import type { LilypadNode } from '../node.ts'
import type { JobBoard } from './job-board.ts'

/** What every route of the node's API may read. */
export interface ApiContext {
  node: LilypadNode
  roles: Role[]
  activity: DealActivity
  /** a job-creator node's jobs, when it takes them */
  board?: JobBoard
}

/**
 * One part of the API: answers a request it knows (and returns true), or returns false for the
 * next route to try. Access (host, token) is checked before any route runs.
 */
export type Route = (req: IncomingMessage, res: ServerResponse, api: ApiContext) => boolean | Promise<boolean>

/** A JSON answer. */
export function reply (res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/** The path of a request, without its query. */
export function pathOf (req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!
}
