// Where and how module repositories are fetched, against real git repositories in a temporary
// folder: allowed schemes, git's environment, the size cap and the cache's eviction.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { loadModule, ModuleError, SCHEMES_ENV, type ModuleSpec } from '../../../src/executor/modules/index.ts'
import { git as runGit } from '../../../src/executor/modules/git.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
afterEach(() => { vi.unstubAllEnvs() })

const TEMPLATE = '{"machine":{"gpu":0,"cpu":1000,"ram":100},"job":{"APIVersion":"V1beta1","Spec":{"Engine":"Docker","Docker":{"Image":"busybox","Entrypoint":["echo",{{.T}}]}}}}'

function git (cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=t@example.org', '-c', 'user.name=test', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim()
}

/** A module repository holding the template and, if asked, `ballast` bytes of random data. */
async function moduleRepo (name: string, ballast = 0): Promise<string> {
  const path = join(await tempDir(), name)
  mkdirSync(path)
  git(path, 'init', '-q')
  writeFileSync(join(path, 'lilypad_module.json.tmpl'), TEMPLATE)
  if (ballast > 0) writeFileSync(join(path, 'ballast.bin'), randomBytes(ballast))
  git(path, 'add', '.')
  git(path, 'commit', '-q', '-m', name)
  return path
}

async function refusal (p: Promise<unknown>): Promise<ModuleError> {
  const err = await p.then(() => null, (e: unknown) => e)
  expect(err).toBeInstanceOf(ModuleError)
  return err as ModuleError
}

/** What the module's job says: the input its template put in the entrypoint. */
function said (m: { spec: ModuleSpec }): string | undefined {
  return m.spec.job.engine.type === 'docker' ? m.spec.job.engine.entrypoint[1] : undefined
}

const repos = (cacheDir: string): string[] => readdirSync(join(cacheDir, 'repos')).filter(n => n.endsWith('.git')).sort()

describe('allowed schemes', () => {
  it('refuses a local repository, and http, ssh and git URLs, unless allowed; https is the default', async () => {
    const repo = await moduleRepo('mod-local')
    const cacheDir = join(await tempDir(), 'cache')
    const err = await refusal(loadModule({ ref: `${repo}:main`, cacheDir, inputs: { T: '1' } }))
    expect(err.code).toBe('MODULE_SOURCE_REFUSED')
    expect(err.message).toBe(`module repository ${repo} is a local repository (${repo}); this node fetches modules only by https (see ${SCHEMES_ENV})`)
    for (const [url, scheme] of [['http://example.invalid/o/r', 'http'], ['ssh://example.invalid/o/r', 'ssh'], ['git://example.invalid/o/r', 'git'], [`file://${repo}`, 'file']]) {
      const e = await refusal(loadModule({ ref: `${url}:main`, cacheDir }))
      expect(e.code).toBe('MODULE_SOURCE_REFUSED')
      expect(e.message).toContain(scheme === 'file' ? 'is a local repository' : `is a ${scheme} URL`)
    }
    expect(existsSync(join(cacheDir, 'repos'))).toBe(false)

    expect(said(await loadModule({ ref: `${repo}:main`, cacheDir, inputs: { T: '1' }, allowedSchemes: ['file'] }))).toBe('1')
    vi.stubEnv(SCHEMES_ENV, 'https, file')
    expect(said(await loadModule({ ref: `${repo}:main`, cacheDir, inputs: { T: '2' } }))).toBe('2')
    vi.stubEnv(SCHEMES_ENV, 'https,ftp')
    expect((await refusal(loadModule({ ref: `${repo}:main`, cacheDir }))).message).toBe(`unknown module repository scheme "ftp" in ${SCHEMES_ENV}: expected some of https, http, ssh, git, file`)
  })

  it('fetches a mirror the operator set, whatever its scheme', async () => {
    const repo = await moduleRepo('mod-mirrored')
    const m = await loadModule({ ref: 'cowsay:main', cacheDir: join(await tempDir(), 'cache'), mirrors: { cowsay: repo }, inputs: { T: '3' } })
    expect(m.fetchedFrom).toBe(repo)
    expect(said(m)).toBe('3')
  })
})

describe('git\'s environment', () => {
  it('gives git none of the node\'s environment: no private key, no GIT_* overrides, no user config', async () => {
    const repo = await moduleRepo('mod-env')
    const home = await tempDir()
    const config = join(home, 'gitconfig')
    writeFileSync(config, '[url "/nowhere/"]\n\tinsteadOf = /\n[credential]\n\thelper = store\n')
    vi.stubEnv('WEB3_PRIVATE_KEY', '0x' + '11'.repeat(32))
    vi.stubEnv('GIT_DIR', '/nowhere')
    vi.stubEnv('GIT_CONFIG_GLOBAL', config)
    vi.stubEnv('GIT_SSH_COMMAND', 'touch /tmp/should-not-run')
    const { stdout } = await runGit(['-c', 'alias.showenv=!env', 'showenv'], { cwd: home })
    const names = stdout.split('\n').map(l => l.slice(0, l.indexOf('='))).filter(n => n !== '')
    expect(names).not.toContain('WEB3_PRIVATE_KEY')
    expect(names.filter(n => n.startsWith('GIT_') && !['GIT_TERMINAL_PROMPT', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL', 'GIT_ATTR_NOSYSTEM', 'GIT_CONFIG_PARAMETERS', 'GIT_EXEC_PATH', 'GIT_PREFIX'].includes(n))).toEqual([])
    expect(stdout).toContain('GIT_CONFIG_GLOBAL=/dev/null')
    // the user config's rewrite of every path and the GIT_DIR override would both break this load
    expect(said(await loadModule({ ref: `${repo}:main`, cacheDir: join(await tempDir(), 'cache'), inputs: { T: '4' }, allowedSchemes: ['file'] }))).toBe('4')
  })

  it('runs no hook of a cached repository when fetching into it', async () => {
    const repo = await moduleRepo('mod-hooks')
    const cacheDir = join(await tempDir(), 'cache')
    const load = (): Promise<unknown> => loadModule({ ref: `${repo}:main`, cacheDir, inputs: { T: '5' }, allowedSchemes: ['file'] })
    await load()
    const marker = join(await tempDir(), 'hook-ran')
    const hooks = join(cacheDir, 'repos', repos(cacheDir)[0]!, 'hooks')
    mkdirSync(hooks, { recursive: true })
    writeFileSync(join(hooks, 'reference-transaction'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 })
    writeFileSync(join(repo, 'lilypad_module.json.tmpl'), TEMPLATE.replace('busybox', 'alpine'))
    git(repo, 'commit', '-q', '-am', 'moved')
    await load()
    expect(existsSync(marker)).toBe(false)
  })

  it('uses only the transport the repository is fetched by', async () => {
    const repo = await moduleRepo('mod-transport')
    await expect(runGit(['ls-remote', repo])).rejects.toThrow(/transport 'file' not allowed/)
    expect((await runGit(['ls-remote', repo], { protocols: ['file'] })).stdout).toMatch(/refs\/heads\/main/)
  })
})

describe('repository size cap', () => {
  it('refuses a repository larger than the cap, keeping nothing of it', async () => {
    const big = await moduleRepo('mod-big', 3 * 1024 * 1024)
    const cacheDir = join(await tempDir(), 'cache')
    const err = await refusal(loadModule({ ref: `${big}:main`, cacheDir, allowedSchemes: ['file'], maxRepoBytes: 1024 * 1024 }))
    expect(err.code).toBe('MODULE_REPO_TOO_LARGE')
    expect(err.message).toBe(`module repository ${big} (${big}) is larger than the 1048576-byte limit`)
    expect(existsSync(join(cacheDir, 'repos')) ? repos(cacheDir) : []).toEqual([])
    const small = await moduleRepo('mod-small')
    expect(said(await loadModule({ ref: `${small}:main`, cacheDir, inputs: { T: '6' }, allowedSchemes: ['file'], maxRepoBytes: 1024 * 1024 }))).toBe('6')
  })

  it('refuses a repository that grows past the cap on a later fetch, and drops its clone', async () => {
    const repo = await moduleRepo('mod-grows')
    const cacheDir = join(await tempDir(), 'cache')
    const load = (): Promise<unknown> => loadModule({ ref: `${repo}:main`, cacheDir, inputs: { T: '7' }, allowedSchemes: ['file'], maxRepoBytes: 1024 * 1024 })
    await load()
    writeFileSync(join(repo, 'ballast.bin'), randomBytes(3 * 1024 * 1024))
    git(repo, 'add', '.')
    git(repo, 'commit', '-q', '-m', 'ballast')
    expect((await refusal(load())).code).toBe('MODULE_REPO_TOO_LARGE')
    expect(repos(cacheDir)).toEqual([])
  })
})

describe('cache eviction', () => {
  it('evicts the least recently used repositories once the cache is over its bound', async () => {
    const [a, b, c] = [await moduleRepo('mod-a', 300_000), await moduleRepo('mod-b', 300_000), await moduleRepo('mod-c', 300_000)]
    const cacheDir = join(await tempDir(), 'cache')
    const load = (repo: string): Promise<unknown> => loadModule({ ref: `${repo}:main`, cacheDir, inputs: { T: '8' }, allowedSchemes: ['file'], maxCacheBytes: 800_000 })
    const held = (): string[] => repos(cacheDir).map(n => n.replace(/-[0-9a-f]{12}\.git$/, '').replace(/^.*_/, '')).sort()
    await load(a)
    await new Promise(resolve => setTimeout(resolve, 20))
    await load(b)
    await new Promise(resolve => setTimeout(resolve, 20))
    await load(a)
    expect(held()).toEqual(['mod-a', 'mod-b'])
    await new Promise(resolve => setTimeout(resolve, 20))
    await load(c)
    expect(held()).toEqual(['mod-a', 'mod-c'])
    // an evicted repository is fetched again when asked for
    await load(b)
    expect(held()).toContain('mod-b')
    expect(held()).toHaveLength(2)
  })
})
