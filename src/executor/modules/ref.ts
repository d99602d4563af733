// Module references: `name:ref`, `github.com/owner/repo:ref`, URLs and local repository paths.
import { isAbsolute, resolve } from 'node:path'
import { ModuleError } from './errors.ts'

export const DEFAULT_MODULE_ORG = 'github.com/Lilypad-Tech'
export const DEFAULT_TEMPLATE_PATH = 'lilypad_module.json.tmpl'

export interface ModuleRef {
  /** What the user wrote. */
  input: string
  /** The short name for `name:ref` references, for mirror look-up. */
  name: string | null
  /** A stable identity of the repository: `github.com/owner/repo`, a URL, or an absolute local path. */
  repo: string
  /** Where git fetches from (before mirrors are applied). */
  url: string
  /** A tag, branch or commit hash. */
  ref: string
  local: boolean
}

const refPattern = /^[A-Za-z0-9._/+@{}^~-]+$/

/** Parses a module reference; the part after the last ':' is the git ref. */
export function parseModuleRef (input: string, cwd = process.cwd()): ModuleRef {
  const at = input.lastIndexOf(':')
  if (at <= 0 || at === input.length - 1) {
    throw new ModuleError('MODULE_REF_INVALID', `invalid module reference ${JSON.stringify(input)}: expected <name>:<ref>, github.com/<owner>/<repo>:<ref> or <path>:<ref>`)
  }
  const target = input.slice(0, at)
  const ref = input.slice(at + 1)
  if (!refPattern.test(ref) || ref.startsWith('-')) {
    throw new ModuleError('MODULE_REF_INVALID', `invalid git ref ${JSON.stringify(ref)} in module reference ${JSON.stringify(input)}`)
  }
  if (target.startsWith('/') || target.startsWith('./') || target.startsWith('../') || target === '.' || target === '..' || target.startsWith('file://')) {
    const path = target.startsWith('file://') ? target.slice('file://'.length) : target
    const abs = isAbsolute(path) ? path : resolve(cwd, path)
    return { input, name: null, repo: abs, url: abs, ref, local: true }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    const repo = target.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/\.git$/, '')
    return { input, name: null, repo, url: target, ref, local: false }
  }
  if (target.includes('/')) {
    const parts = target.replace(/\.git$/, '').split('/')
    if (parts.length !== 3 || parts.some(p => !/^[A-Za-z0-9._-]+$/.test(p)) || !parts[0]!.includes('.')) {
      throw new ModuleError('MODULE_REF_INVALID', `invalid module repository ${JSON.stringify(target)}: expected <host>/<owner>/<repo>`)
    }
    const repo = parts.join('/')
    return { input, name: null, repo, url: `https://${repo}`, ref, local: false }
  }
  if (!/^[A-Za-z0-9._-]+$/.test(target)) {
    throw new ModuleError('MODULE_REF_INVALID', `invalid module name ${JSON.stringify(target)}`)
  }
  const repo = `${DEFAULT_MODULE_ORG}/lilypad-module-${target}`
  return { input, name: target, repo, url: `https://${repo}`, ref, local: false }
}
