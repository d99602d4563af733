// loadModule: reference → repository and commit → template → rendered JSON → typed spec and its hash.
// Templates are rendered off the main thread within budgets: a module is code from whoever wrote it.
import { homedir } from 'node:os'
import { join } from 'node:path'
import { parseModuleRef, DEFAULT_TEMPLATE_PATH } from './ref.ts'
import { effectiveMirrors, mirroredUrl, type ModuleMirrors } from './mirrors.ts'
import { ModuleCache } from './cache.ts'
import { checkSource, defaultModuleSchemes, type ModuleScheme } from './sources.ts'
import { parseModuleSpec, specHash, type ModuleSpec } from './model.ts'
import { renderModuleTemplateBudgeted } from '../template/budgeted.ts'

export interface LoadModuleOptions {
  /** `cowsay:v0.0.1`, `github.com/owner/repo:ref`, `/path/to/repo:ref` or `./repo:ref`. */
  ref: string
  inputs?: Record<string, string>
  /** Where repositories and templates are cached; default `<DATA_DIR>/modules`. */
  cacheDir?: string
  /** Name or repository → repository; added to (and overriding) LILYPAD_MODULE_MIRRORS. */
  mirrors?: ModuleMirrors
  /** Path of the template inside the repository; default `lilypad_module.json.tmpl`. */
  templatePath?: string
  /**
   * How a module's own repository may be fetched; default LILYPAD_MODULE_SCHEMES, else https only.
   * `file` allows local paths. A mirror is the operator's choice and is fetched whatever it is.
   */
  allowedSchemes?: readonly ModuleScheme[]
  /** Most bytes one repository may take in the cache (default 100 MiB). */
  maxRepoBytes?: number
  /** Most bytes the cache may hold before the least recently used entries go (default 1 GiB). */
  maxCacheBytes?: number
  signal?: AbortSignal
}

export interface LoadedModule {
  ref: string
  /** The repository's identity (`github.com/owner/repo`, or an absolute path for local ones). */
  repo: string
  /** Where it was fetched from (a mirror, when one applies). */
  fetchedFrom: string
  commit: string
  templatePath: string
  /** The rendered module exactly as the template produced it. */
  rendered: string
  spec: ModuleSpec
  /** 0x-prefixed sha256 of the canonical JSON of the rendered module. */
  specHash: string
}

export function defaultModuleCacheDir (env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DATA_DIR ?? join(homedir(), '.lilypad'), 'modules')
}

/** Lilypad's template name, which appears in its error messages: "<repo>-<path>-<commit>". */
export function moduleTemplateName (repo: string, templatePath: string, commit: string): string {
  return `${repo}-${templatePath}-${commit}`
}

export async function loadModule (opts: LoadModuleOptions): Promise<LoadedModule> {
  const ref = parseModuleRef(opts.ref)
  const templatePath = opts.templatePath ?? DEFAULT_TEMPLATE_PATH
  const url = mirroredUrl(ref, effectiveMirrors(opts.mirrors))
  if (url === ref.url) checkSource(ref.repo, url, opts.allowedSchemes ?? defaultModuleSchemes())
  const cache = new ModuleCache(opts.cacheDir ?? defaultModuleCacheDir(), { maxRepoBytes: opts.maxRepoBytes, maxCacheBytes: opts.maxCacheBytes })
  const { commit, text } = await cache.resolve(ref.repo, url, ref.ref, templatePath, opts.signal)
  const rendered = await renderModuleTemplateBudgeted({ name: moduleTemplateName(ref.repo, templatePath, commit), text, inputs: opts.inputs ?? {} })
  const spec = parseModuleSpec(rendered)
  return { ref: opts.ref, repo: ref.repo, fetchedFrom: url, commit, templatePath, rendered, spec, specHash: specHash(spec.raw) }
}
