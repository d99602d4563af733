// A cache of module repositories (bare clones) and of templates keyed by commit. Fetches of one
// repository are serialised, within the process and across processes sharing the cache directory.
// Each repository is capped in size, and the cache as a whole: the least recently used go first.
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { dirname, join, normalize, isAbsolute } from 'node:path'
import { git, GitFailure, GitTooLarge, lastLine } from './git.ts'
import { dirSize } from './dir-size.ts'
import { ModuleError } from './errors.ts'
import { MODULE_SCHEMES, schemeOf } from './sources.ts'
import { evictLeastRecentlyUsed, type CacheEntry } from './eviction.ts'
import { delay } from '../../support/delay.ts'

export interface ResolvedTemplate {
  commit: string
  text: string
}

export interface ModuleCacheOptions {
  gitTimeoutMs?: number
  /** A lock older than this is taken to be left by a crashed process. */
  staleLockMs?: number
  /**
   * How long a tag, once resolved, is taken as it is without asking the repository again (default
   * 60 s; 0: always ask). Branches are always fetched again. Tags are not meant to move, and a
   * node taking jobs one after another would otherwise pay a fetch, a lock and three git processes
   * for every job it submits.
   */
  tagTrustMs?: number
  /** Most bytes one repository may take on disk; a larger one is refused (default 100 MiB). */
  maxRepoBytes?: number
  /** Most bytes the whole cache may hold; past it the least recently used entries go (default 1 GiB). */
  maxCacheBytes?: number
}

const TAG_TRUST_MS = 60_000
const MiB = 1024 * 1024
export const DEFAULT_MAX_REPO_BYTES = 100 * MiB
export const DEFAULT_MAX_CACHE_BYTES = 1024 * MiB

/** Tags resolved lately, by cache folder, repository and tag: the commit and when it was resolved. */
const resolvedTags = new Map<string, { commit: string, at: number }>()

const fullHash = /^[0-9a-f]{40}$/

const inProcessLocks = new Map<string, Promise<unknown>>()


async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

export function checkTemplatePath (templatePath: string): string {
  const p = normalize(templatePath).replace(/^\.\/+/, '')
  if (p === '' || p === '.' || isAbsolute(p) || p.startsWith('..') || p.includes('\0')) {
    throw new ModuleError('MODULE_TEMPLATE_NOT_FOUND', `invalid template path ${JSON.stringify(templatePath)}: must be a relative path inside the repository`)
  }
  return p
}

export class ModuleCache {
  constructor (readonly dir: string, private readonly opts: ModuleCacheOptions = {}) {}

  private repoKey (repo: string, url: string): string {
    const safe = repo.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+/, '').slice(-80)
    return `${safe}-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`
  }

  private commitFile (commit: string, templatePath: string): string {
    return join(this.dir, 'commits', commit, templatePath)
  }

  /** Resolves `ref` in the repository at `url` to a commit and reads the template at that commit. */
  async resolve (repo: string, url: string, ref: string, templatePath: string, signal?: AbortSignal): Promise<ResolvedTemplate> {
    const path = checkTemplatePath(templatePath)
    if (fullHash.test(ref)) {
      const cached = await readFile(this.commitFile(ref, path), 'utf8').catch(() => null)
      if (cached !== null) {
        await touch(join(this.dir, 'commits', ref))
        return { commit: ref, text: cached }
      }
    }
    const key = this.repoKey(repo, url)
    const gitDir = join(this.dir, 'repos', `${key}.git`)
    const tagKey = `${gitDir}\u0000${ref}`
    const trustMs = this.opts.tagTrustMs ?? TAG_TRUST_MS
    const tag = resolvedTags.get(tagKey)
    if (tag !== undefined && Date.now() - tag.at < trustMs) {
      const cached = await readFile(this.commitFile(tag.commit, path), 'utf8').catch(() => null)
      if (cached !== null) {
        await touch(join(this.dir, 'commits', tag.commit))
        return { commit: tag.commit, text: cached }
      }
    }
    const resolved = await this.withLock(key, async () => {
      const fresh = await this.ensureClone(gitDir, repo, url, signal)
      let commit = fullHash.test(ref) || fresh ? await this.revParse(gitDir, ref, signal) : null
      if (commit === null) {
        let fetchError: Error | null = null
        if (!fresh) {
          try {
            await git(['--git-dir', gitDir, 'fetch', '--quiet', '--force', '--prune', '--tags', 'origin', '+refs/heads/*:refs/heads/*'], {
              timeoutMs: this.opts.gitTimeoutMs, signal, protocols: protocolsFor(url), cap: { dir: gitDir, maxBytes: this.maxRepoBytes }
            })
          } catch (err) {
            if (err instanceof GitTooLarge) {
              await this.dropRepo(gitDir)
              throw this.tooLarge(repo, url)
            }
            if (!(err instanceof GitFailure)) throw err
            fetchError = err
          }
          await this.checkSize(gitDir, repo, url)
        }
        commit = await this.revParse(gitDir, ref, signal)
        if (commit === null) {
          const why = fetchError ? ` (fetch failed: ${lastLine((fetchError as GitFailure).stderr)})` : ''
          throw new ModuleError('MODULE_REF_NOT_FOUND', `ref ${JSON.stringify(ref)} not found in module repository ${repo}${why}`)
        }
      }
      const text = await this.readTemplate(gitDir, repo, commit, path, signal)
      const file = this.commitFile(commit, path)
      await mkdir(dirname(file), { recursive: true })
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
      await writeFile(tmp, text)
      await rename(tmp, file)
      if (trustMs > 0 && !fullHash.test(ref) && await this.isTag(gitDir, ref, signal)) {
        if (resolvedTags.size >= 1024) resolvedTags.clear()
        resolvedTags.set(tagKey, { commit, at: Date.now() })
      }
      await touch(gitDir)
      return { commit, text }
    })
    await this.evict([gitDir, join(this.dir, 'commits', resolved.commit)])
    return resolved
  }

  private get maxRepoBytes (): number {
    return this.opts.maxRepoBytes ?? DEFAULT_MAX_REPO_BYTES
  }

  private tooLarge (repo: string, url: string): ModuleError {
    return new ModuleError('MODULE_REPO_TOO_LARGE', `module repository ${repo} (${url}) is larger than the ${this.maxRepoBytes}-byte limit`)
  }

  /** A fetch can finish between two looks at its size: the last look is after it. */
  private async checkSize (dir: string, repo: string, url: string): Promise<void> {
    if (await dirSize(dir) > this.maxRepoBytes) {
      await this.dropRepo(dir)
      throw this.tooLarge(repo, url)
    }
  }

  private async dropRepo (dir: string): Promise<void> {
    const doomed = `${dir}.${process.pid}.${Date.now()}.drop`
    await rename(dir, doomed).catch(() => undefined)
    await rm(doomed, { recursive: true, force: true })
  }

  /** Removes the least recently used repositories and templates until the cache fits its bound. */
  private async evict (keep: string[]): Promise<void> {
    const entries: CacheEntry[] = []
    for (const [folder, isRepo] of [['repos', true], ['commits', false]] as const) {
      const names = await readdir(join(this.dir, folder)).catch(() => [] as string[])
      for (const name of names) {
        if (isRepo ? !name.endsWith('.git') : !fullHash.test(name)) continue
        const path = join(this.dir, folder, name)
        entries.push({
          path,
          remove: isRepo
            ? async () => { await this.withLock(name.slice(0, -'.git'.length), async () => { await this.dropRepo(path) }) }
            : async () => { await this.dropRepo(path) }
        })
      }
    }
    await evictLeastRecentlyUsed(entries, this.opts.maxCacheBytes ?? DEFAULT_MAX_CACHE_BYTES, new Set(keep))
  }

  private async ensureClone (gitDir: string, repo: string, url: string, signal?: AbortSignal): Promise<boolean> {
    if (await exists(join(gitDir, 'HEAD'))) return false
    await mkdir(dirname(gitDir), { recursive: true })
    const tmp = `${gitDir}.${process.pid}.${Date.now()}.tmp`
    try {
      await git(['clone', '--bare', '--quiet', '--', url, tmp], {
        timeoutMs: this.opts.gitTimeoutMs, signal, protocols: protocolsFor(url), cap: { dir: tmp, maxBytes: this.maxRepoBytes }
      })
      await this.checkSize(tmp, repo, url)
    } catch (err) {
      await rm(tmp, { recursive: true, force: true })
      if (err instanceof GitTooLarge) throw this.tooLarge(repo, url)
      if (err instanceof GitFailure) {
        throw new ModuleError('MODULE_REPO_NOT_FOUND', `cannot fetch module repository ${repo} from ${url}: ${lastLine(err.stderr)}`)
      }
      throw err
    }
    await rename(tmp, gitDir)
    return true
  }

  private async revParse (gitDir: string, ref: string, signal?: AbortSignal): Promise<string | null> {
    try {
      const { stdout } = await git(['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], { signal })
      const commit = stdout.trim()
      return fullHash.test(commit) ? commit : null
    } catch (err) {
      if (err instanceof GitFailure) return null
      throw err
    }
  }

  private async isTag (gitDir: string, ref: string, signal?: AbortSignal): Promise<boolean> {
    try {
      const { stdout } = await git(['--git-dir', gitDir, 'rev-parse', '--verify', '--quiet', '--symbolic-full-name', '--end-of-options', ref], { signal })
      return stdout.trim().startsWith('refs/tags/')
    } catch (err) {
      if (err instanceof GitFailure) return false
      throw err
    }
  }

  private async readTemplate (gitDir: string, repo: string, commit: string, path: string, signal?: AbortSignal): Promise<string> {
    try {
      const { stdout } = await git(['--git-dir', gitDir, 'cat-file', 'blob', `${commit}:${path}`], { signal })
      return stdout
    } catch (err) {
      if (err instanceof GitFailure) {
        throw new ModuleError('MODULE_TEMPLATE_NOT_FOUND', `template ${JSON.stringify(path)} not found in module repository ${repo} at commit ${commit}`)
      }
      throw err
    }
  }

  private async withLock<T> (key: string, fn: () => Promise<T>): Promise<T> {
    const previous = inProcessLocks.get(key) ?? Promise.resolve()
    const run = previous.catch(() => undefined).then(async () => {
      const release = await this.acquireFileLock(key)
      try {
        return await fn()
      } finally {
        await release()
      }
    })
    inProcessLocks.set(key, run)
    try {
      return await run
    } finally {
      if (inProcessLocks.get(key) === run) inProcessLocks.delete(key)
    }
  }

  /**
   * A lock is a directory (mkdir is atomic) holding the owner's host and pid. A lock whose owner
   * process on this host is gone was left by a crash (a SIGKILLed node) and is taken over at once;
   * one whose owner cannot be told is taken to be stale after `staleLockMs`.
   */
  private async acquireFileLock (key: string): Promise<() => Promise<void>> {
    const lockDir = join(this.dir, 'locks', `${key}.lock`)
    await mkdir(dirname(lockDir), { recursive: true })
    const stale = this.opts.staleLockMs ?? 10 * 60_000
    for (;;) {
      try {
        await mkdir(lockDir)
        await writeFile(join(lockDir, 'owner'), JSON.stringify({ host: hostname(), pid: process.pid }))
        return async () => { await rm(lockDir, { recursive: true, force: true }).catch(() => undefined) }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        const st = await stat(lockDir).catch(() => null)
        if (st !== null && (Date.now() - st.mtimeMs > stale || await ownerIsGone(lockDir))) {
          await rm(lockDir, { recursive: true, force: true }).catch(() => undefined)
          continue
        }
        await delay(25)
      }
    }
  }
}

/** git may use the transport `url` names, if it is one modules are fetched by, and no other. */
function protocolsFor (url: string): string[] {
  const scheme = schemeOf(url)
  return (MODULE_SCHEMES as readonly string[]).includes(scheme) ? [scheme] : []
}

/** Marks a cache entry as used now: eviction goes by these times. */
async function touch (path: string): Promise<void> {
  const now = new Date()
  await utimes(path, now, now).catch(() => undefined)
}

async function ownerIsGone (lockDir: string): Promise<boolean> {
  let owner: { host?: unknown, pid?: unknown }
  try {
    owner = JSON.parse(await readFile(join(lockDir, 'owner'), 'utf8')) as typeof owner
  } catch {
    return false // being written, or left by an older version: the age decides
  }
  if (owner.host !== hostname() || typeof owner.pid !== 'number' || owner.pid === process.pid) return false
  try {
    process.kill(owner.pid, 0)
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
