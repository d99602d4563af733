// Which kinds of repository location a node fetches modules from. A job offer names its module's
// repository, so without a rule any offer could make a provider's git read a local path or reach
// a host over any transport git knows.
import { ModuleError } from './errors.ts'

export type ModuleScheme = 'https' | 'http' | 'ssh' | 'git' | 'file'

export const MODULE_SCHEMES: readonly ModuleScheme[] = ['https', 'http', 'ssh', 'git', 'file']

/** What a node fetches from unless told otherwise. */
export const DEFAULT_MODULE_SCHEMES: readonly ModuleScheme[] = ['https']

/** `https,file`: the schemes an operator allows, replacing the default. */
export const SCHEMES_ENV = 'LILYPAD_MODULE_SCHEMES'

export function parseSchemes (text: string): ModuleScheme[] {
  const schemes = text.split(',').map(s => s.trim().toLowerCase()).filter(s => s !== '')
  for (const s of schemes) {
    if (!(MODULE_SCHEMES as readonly string[]).includes(s)) {
      throw new ModuleError('MODULE_SOURCE_REFUSED', `unknown module repository scheme ${JSON.stringify(s)} in ${SCHEMES_ENV}: expected some of ${MODULE_SCHEMES.join(', ')}`)
    }
  }
  return [...new Set(schemes)] as ModuleScheme[]
}

/** The schemes from the environment, else the default (https only). */
export function defaultModuleSchemes (env: NodeJS.ProcessEnv = process.env): readonly ModuleScheme[] {
  const text = env[SCHEMES_ENV]
  return text === undefined || text.trim() === '' ? DEFAULT_MODULE_SCHEMES : parseSchemes(text)
}

/** The scheme git would fetch `url` by: a local path is `file`, `user@host:path` is `ssh`. */
export function schemeOf (url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)
  if (m) return m[1]!.toLowerCase()
  if (url.includes('::')) return url.slice(0, url.indexOf('::')).toLowerCase()
  if (/^[^/]+@[^/]+:/.test(url)) return 'ssh'
  return 'file'
}

/** Throws unless `url` is fetched by one of `allowed`. */
export function checkSource (repo: string, url: string, allowed: readonly ModuleScheme[]): ModuleScheme {
  const scheme = schemeOf(url)
  if ((allowed as readonly string[]).includes(scheme)) return scheme as ModuleScheme
  const what = scheme === 'file' ? 'a local repository' : `a ${scheme} URL`
  throw new ModuleError('MODULE_SOURCE_REFUSED',
    `module repository ${repo} is ${what} (${url}); this node fetches modules only by ${allowed.join(', ') || 'no scheme'} (see ${SCHEMES_ENV})`)
}

/**
 * For references a user types on their own machine (`lilypad module render ./repo:v1`): local
 * repositories too. Never for a repository named by a job offer.
 */
export function userModuleSchemes (env: NodeJS.ProcessEnv = process.env): readonly ModuleScheme[] {
  return [...new Set([...defaultModuleSchemes(env), 'file' as const])]
}
