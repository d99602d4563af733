import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { isIP } from 'node:net'

/** How the API is reached: where it listens, and what a request must show. */
export interface ApiAccess {
  /** the address it listens on */
  host: string
  /** the bearer token every request but the open ones must carry; absent: none needed (loopback only) */
  token?: string
  /** Host header names accepted beside the loopback names and `host` itself (a name the API is reached by through a proxy or DNS) */
  hostNames?: string[]
}

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

/** Paths anyone who reaches the API may read: they tell nothing of the node's deals or keys. */
const OPEN_PATHS = new Set(['/health', '/openapi.json'])

export function isLoopback (host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith('127.')
}

/** Why a request is refused (status and reason), or null when it may go on. */
export function refusal (req: IncomingMessage, path: string, access: ApiAccess): { status: number, error: string } | null {
  if (!hostAccepted(req.headers.host, access)) {
    return { status: 403, error: `the API answers requests addressed to ${[...acceptedNames(access)].join(', ')} only` }
  }
  if (access.token === undefined || OPEN_PATHS.has(path) || path === '/dashboard' || path.startsWith('/dashboard/')) return null
  const header = req.headers.authorization ?? ''
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : ''
  if (given === '' || !sameSecret(given, access.token)) return { status: 401, error: 'a bearer token is needed: Authorization: Bearer <token> (the token is in the node\'s data directory, api-token)' }
  return null
}

function acceptedNames (access: ApiAccess): Set<string> {
  const names = new Set(LOOPBACK_NAMES)
  if (!isWildcard(access.host)) names.add(access.host)
  for (const name of access.hostNames ?? []) names.add(name)
  return names
}

function isWildcard (host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]'
}

/**
 * The Host header must name the API (a page on another site that rebinds its name to this address
 * cannot read it). On a wildcard address with no names given, any name is taken: the token guards it.
 */
function hostAccepted (header: string | undefined, access: ApiAccess): boolean {
  if (header === undefined || header === '') return false
  const name = stripPort(header.toLowerCase())
  if (isWildcard(access.host) && (access.hostNames ?? []).length === 0 && access.token !== undefined) return true
  return acceptedNames(access).has(name)
}

function stripPort (host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  if (isIP(host) === 6) return host
  const colon = host.lastIndexOf(':')
  return colon < 0 ? host : host.slice(0, colon)
}

function sameSecret (given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}
