import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { reply } from './routes.ts'

/** The page's files, beside the sources (src/dashboard), found from this module wherever it runs from. */
const FOLDER = new URL('../../dashboard/', import.meta.url)

/** The only files served, by the name in the path, with their types: nothing else of the folder is reachable. */
const FILES: ReadonlyMap<string, string> = new Map([
  ['index.html', 'text/html; charset=utf-8'],
  ['app.js', 'text/javascript; charset=utf-8'],
  ['style.css', 'text/css; charset=utf-8']
])

// the page loads its own script and style only, and talks to this API only
const POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/** The file a dashboard path names: `/dashboard` is the page; undefined for a path that is no dashboard file. */
export function dashboardFile (path: string): string | undefined {
  if (path === '/dashboard' || path === '/dashboard/') return 'index.html'
  if (!path.startsWith('/dashboard/')) return undefined
  const name = path.slice('/dashboard/'.length)
  return FILES.has(name) ? name : undefined
}

/** `GET /dashboard` and `GET /dashboard/<file>`; false for any other path. */
export async function serveDashboardFile (req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  if (path !== '/dashboard' && !path.startsWith('/dashboard/')) return false
  const name = dashboardFile(path)
  if (name === undefined) { reply(res, 404, { error: 'no such dashboard file' }); return true }
  if (req.method !== 'GET' && req.method !== 'HEAD') { reply(res, 405, { error: 'only GET' }); return true }
  const body = await readFile(new URL(name, FOLDER))
  res.writeHead(200, {
    'content-type': FILES.get(name)!,
    'content-length': body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'content-security-policy': POLICY
  })
  res.end(req.method === 'HEAD' ? undefined : body)
  return true
}
