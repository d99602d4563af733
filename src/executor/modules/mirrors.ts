// Mirrors point module names or repositories at other repositories: how offline networks and tests
// fetch `cowsay:v0.0.1` without GitHub.
import { isAbsolute, resolve } from 'node:path'
import { ModuleError } from './errors.ts'
import type { ModuleRef } from './ref.ts'

export type ModuleMirrors = Record<string, string>

export const MIRRORS_ENV = 'LILYPAD_MODULE_MIRRORS'

/** Parses `{"cowsay":"/srv/git/cowsay"}` or `cowsay=/srv/git/cowsay,github.com/o/r=https://…`. */
export function parseMirrors (text: string | undefined): ModuleMirrors {
  if (text === undefined || text.trim() === '') return {}
  const t = text.trim()
  if (t.startsWith('{')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(t)
    } catch (err) {
      throw new ModuleError('MODULE_MIRRORS_INVALID', `invalid module mirrors JSON: ${(err as Error).message}`)
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ModuleError('MODULE_MIRRORS_INVALID', 'module mirrors must be a JSON object of name → repository')
    }
    const out: ModuleMirrors = {}
    for (const [k, v] of Object.entries(parsed)) {
      if (typeof v !== 'string' || v === '') throw new ModuleError('MODULE_MIRRORS_INVALID', `module mirror for ${JSON.stringify(k)} must be a non-empty string`)
      out[k] = v
    }
    return out
  }
  const out: ModuleMirrors = {}
  for (const entry of t.split(',')) {
    if (entry.trim() === '') continue
    const eq = entry.indexOf('=')
    if (eq <= 0 || eq === entry.length - 1) {
      throw new ModuleError('MODULE_MIRRORS_INVALID', `invalid module mirror entry ${JSON.stringify(entry)}: expected name=repository`)
    }
    out[entry.slice(0, eq).trim()] = entry.slice(eq + 1).trim()
  }
  return out
}

/** The mirrors from the environment, overridden by those given explicitly (flags, config). */
export function effectiveMirrors (explicit: ModuleMirrors | undefined, env: NodeJS.ProcessEnv = process.env): ModuleMirrors {
  return { ...parseMirrors(env[MIRRORS_ENV]), ...(explicit ?? {}) }
}

/** Where to fetch a module from: a mirror for its name, then for its repository, else its own URL. */
export function mirroredUrl (ref: ModuleRef, mirrors: ModuleMirrors, cwd = process.cwd()): string {
  const m = (ref.name !== null ? mirrors[ref.name] : undefined) ?? mirrors[ref.repo] ?? mirrors[`https://${ref.repo}`]
  if (m === undefined) return ref.url
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(m) || /^[^/]+@[^/]+:/.test(m)) return m
  return isAbsolute(m) ? m : resolve(cwd, m)
}
