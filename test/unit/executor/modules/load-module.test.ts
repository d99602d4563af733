// Module references, mirrors and the commit-keyed cache, against git repositories made in a temporary
// folder (never the network).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadModule, ModuleCache, parseModuleRef, parseMirrors, ModuleError, SCHEMES_ENV } from '../../../../src/executor/modules/index.ts'
import { cowsayTemplate as cowsayTemplateText } from '../../../support/template-corpus.ts'

const cowsayTemplate = cowsayTemplateText()

let dir: string
let repo: string
let v1: string
let v2: string

function git (cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=t@example.org', '-c', 'user.name=test', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim()
}

function commitTemplate (text: string, tag: string): string {
  writeFileSync(join(repo, 'lilypad_module.json.tmpl'), text)
  git(repo, 'add', '.')
  git(repo, 'commit', '-q', '-m', tag)
  git(repo, 'tag', tag)
  return git(repo, 'rev-parse', 'HEAD')
}

async function expectModuleError (p: Promise<unknown>, code: string, text: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: unknown) => e)
  expect(err).toBeInstanceOf(ModuleError)
  expect((err as ModuleError).code).toBe(code)
  expect((err as ModuleError).message).toMatch(text)
}

beforeAll(() => {
  // these tests load local repositories, which a node fetches only where its operator allows them
  vi.stubEnv(SCHEMES_ENV, 'https,file')
  dir = mkdtempSync(join(tmpdir(), 'lilypad-modules-'))
  repo = join(dir, 'lilypad-module-cowsay')
  mkdirSync(repo)
  git(repo, 'init', '-q')
  v1 = commitTemplate(cowsayTemplate, 'v0.0.1')
  v2 = commitTemplate(cowsayTemplate.replace('richbrem/cowsay:latest', 'example/cowsay@sha256:' + 'a'.repeat(64)), 'v0.0.2')
})

afterAll(() => {
  vi.unstubAllEnvs()
  rmSync(dir, { recursive: true, force: true })
})

describe('module references', () => {
  it('reads name:ref, host/owner/repo:ref, URLs and local paths', () => {
    expect(parseModuleRef('cowsay:v0.0.1')).toMatchObject({ name: 'cowsay', repo: 'github.com/Lilypad-Tech/lilypad-module-cowsay', url: 'https://github.com/Lilypad-Tech/lilypad-module-cowsay', ref: 'v0.0.1', local: false })
    expect(parseModuleRef('github.com/o/r:main')).toMatchObject({ name: null, repo: 'github.com/o/r', url: 'https://github.com/o/r', ref: 'main' })
    expect(parseModuleRef('https://example.org/o/r.git:v1')).toMatchObject({ repo: 'example.org/o/r', url: 'https://example.org/o/r.git', ref: 'v1' })
    expect(parseModuleRef('/srv/repo:v1')).toMatchObject({ repo: '/srv/repo', local: true, ref: 'v1' })
    expect(parseModuleRef('./repo:v1', '/work')).toMatchObject({ repo: '/work/repo', local: true })
  })
  it('rejects references without a ref, or with a ref git would read as an option', () => {
    for (const bad of ['cowsay', 'cowsay:', 'cowsay:--upload-pack=x', 'a/b:v1', 'we ird:v1']) {
      expect(() => parseModuleRef(bad), bad).toThrow(ModuleError)
    }
  })
  it('reads mirrors as JSON or as name=url lists', () => {
    expect(parseMirrors('{"cowsay":"/srv/c"}')).toEqual({ cowsay: '/srv/c' })
    expect(parseMirrors('cowsay=/srv/c, github.com/o/r=https://m/r')).toEqual({ cowsay: '/srv/c', 'github.com/o/r': 'https://m/r' })
    expect(() => parseMirrors('cowsay')).toThrow(/expected name=repository/)
    expect(() => parseMirrors('{"a":1}')).toThrow(ModuleError)
  })
})

describe('loadModule', () => {
  it('resolves a name through a mirror to a commit, renders it and types it', async () => {
    const m = await loadModule({ ref: 'cowsay:v0.0.1', inputs: { Message: 'moo' }, cacheDir: join(dir, 'cache-a'), mirrors: { cowsay: repo } })
    expect(m.commit).toBe(v1)
    expect(m.repo).toBe('github.com/Lilypad-Tech/lilypad-module-cowsay')
    expect(m.templatePath).toBe('lilypad_module.json.tmpl')
    expect(JSON.parse(m.rendered).job.Spec.Docker.Entrypoint).toEqual(['/usr/local/bin/cowsay', 'moo'])
    expect(m.spec.job.engine).toMatchObject({ type: 'docker', image: 'richbrem/cowsay:latest', entrypoint: ['/usr/local/bin/cowsay', 'moo'] })
    expect(m.spec.machine).toEqual({ gpu: 0, gpus: [], cpu: 1000, ram: 100, disk: 0 })
    expect(m.specHash).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it('gives the same spec hash for the same inputs and a different one for others', async () => {
    const opts = { ref: 'cowsay:v0.0.1', cacheDir: join(dir, 'cache-a'), mirrors: { cowsay: repo } }
    const a = await loadModule({ ...opts, inputs: { Message: 'moo' } })
    const b = await loadModule({ ...opts, inputs: { Message: 'moo' } })
    const c = await loadModule({ ...opts, inputs: { Message: 'baa' } })
    expect(a.specHash).toBe(b.specHash)
    expect(c.specHash).not.toBe(a.specHash)
  })

  it('takes mirrors from LILYPAD_MODULE_MIRRORS, for names and for repositories', async () => {
    const saved = process.env.LILYPAD_MODULE_MIRRORS
    try {
      process.env.LILYPAD_MODULE_MIRRORS = JSON.stringify({ 'github.com/someone/cowsay': repo })
      const m = await loadModule({ ref: 'github.com/someone/cowsay:v0.0.2', cacheDir: join(dir, 'cache-b') })
      expect(m.commit).toBe(v2)
      expect(m.spec.job.engine).toMatchObject({ image: 'example/cowsay@sha256:' + 'a'.repeat(64) })
      process.env.LILYPAD_MODULE_MIRRORS = `cowsay=${repo}`
      expect((await loadModule({ ref: 'cowsay:v0.0.2', cacheDir: join(dir, 'cache-b') })).commit).toBe(v2)
    } finally {
      if (saved === undefined) delete process.env.LILYPAD_MODULE_MIRRORS
      else process.env.LILYPAD_MODULE_MIRRORS = saved
    }
  })

  it('loads local repositories by absolute and relative path, at a tag, a branch or a commit', async () => {
    const cacheDir = join(dir, 'cache-c')
    expect((await loadModule({ ref: `${repo}:v0.0.1`, cacheDir })).commit).toBe(v1)
    expect((await loadModule({ ref: `./${relative(process.cwd(), repo)}:main`, cacheDir })).commit).toBe(v2)
    expect((await loadModule({ ref: `${repo}:${v1.slice(0, 10)}`, cacheDir })).commit).toBe(v1)
  })

  it('follows a moved branch on the next load', async () => {
    const cacheDir = join(dir, 'cache-d')
    const before = await loadModule({ ref: `${repo}:main`, cacheDir })
    const v3 = commitTemplate(cowsayTemplate.replace('"cpu": 1000', '"cpu": 2000'), 'v0.0.3')
    const after = await loadModule({ ref: `${repo}:main`, cacheDir })
    expect(before.commit).toBe(v2)
    expect(after.commit).toBe(v3)
    expect(after.spec.machine.cpu).toBe(2000)
  })

  it('takes a tag it resolved lately as it is, without asking the repository again', async () => {
    const cacheDir = join(dir, 'cache-t')
    const copy = join(dir, 'tag-copy')
    execFileSync('git', ['clone', '-q', repo, copy])
    const first = await loadModule({ ref: `${copy}:v0.0.1`, cacheDir })
    // the tag moves in the repository (which tags are not meant to do)
    git(copy, 'tag', '-f', 'v0.0.1', v2)
    expect((await loadModule({ ref: `${copy}:v0.0.1`, cacheDir, inputs: { Message: 'again' } })).commit).toBe(first.commit)
    const cache = new ModuleCache(cacheDir, { tagTrustMs: 0 })
    expect((await cache.resolve(copy, copy, 'v0.0.1', 'lilypad_module.json.tmpl')).commit).toBe(v2)
    rmSync(copy, { recursive: true, force: true })
  })

  it('serves a commit from its cache once fetched, even when the repository is gone', async () => {
    const cacheDir = join(dir, 'cache-e')
    const copy = join(dir, 'copy')
    execFileSync('git', ['clone', '-q', repo, copy])
    const first = await loadModule({ ref: `${copy}:v0.0.1`, cacheDir })
    rmSync(copy, { recursive: true, force: true })
    const again = await loadModule({ ref: `${copy}:${first.commit}`, cacheDir, inputs: { Message: 'cached' } })
    expect(again.commit).toBe(v1)
    expect(again.spec.job.engine).toMatchObject({ entrypoint: ['/usr/local/bin/cowsay', 'cached'] })
  })

  it('serialises concurrent loads of one repository', async () => {
    const cacheDir = join(dir, 'cache-f')
    const loads = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      loadModule({ ref: i % 2 === 0 ? 'cowsay:v0.0.1' : 'cowsay:v0.0.2', cacheDir, mirrors: { cowsay: repo }, inputs: { Message: String(i) } })))
    expect(loads.map(l => l.commit)).toEqual(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? v1 : v2)))
  })

  it('takes over at once a lock left by a process that died, and waits on one whose owner lives', async () => {
    const cacheDir = join(dir, 'cache-lock')
    // a branch: a tag resolved a moment ago would be served without the lock
    const load = (): Promise<unknown> => loadModule({ ref: 'cowsay:main', cacheDir, mirrors: { cowsay: repo } })
    await load()
    const key = readdirSync(join(cacheDir, 'repos'))[0]!.replace(/\.git$/, '')
    const lockDir = join(cacheDir, 'locks', `${key}.lock`)
    const leaveLock = (pid: number): void => {
      mkdirSync(lockDir)
      writeFileSync(join(lockDir, 'owner'), JSON.stringify({ host: hostname(), pid }))
    }
    // a SIGKILLed node leaves its lock behind; its restart must not wait out the stale age (10 min)
    leaveLock(spawnSync('true').pid!)
    await load()
    expect(existsSync(lockDir)).toBe(false)

    leaveLock(process.ppid)
    const waiting = load()
    const early = await Promise.race([waiting.then(() => 'loaded'), new Promise(resolve => setTimeout(() => resolve('waiting'), 500))])
    expect(early).toBe('waiting')
    rmSync(lockDir, { recursive: true })
    await waiting
  })

  it('says clearly when the repository, the ref or the template is missing', async () => {
    const cacheDir = join(dir, 'cache-g')
    await expectModuleError(loadModule({ ref: `${join(dir, 'nowhere')}:v1`, cacheDir }), 'MODULE_REPO_NOT_FOUND', /cannot fetch module repository/)
    await expectModuleError(loadModule({ ref: `${repo}:v9.9.9`, cacheDir }), 'MODULE_REF_NOT_FOUND', /ref "v9.9.9" not found/)
    await expectModuleError(loadModule({ ref: `${repo}:v0.0.1`, cacheDir, templatePath: 'other.json.tmpl' }), 'MODULE_TEMPLATE_NOT_FOUND', /template "other.json.tmpl" not found .* at commit [0-9a-f]{40}/)
    await expectModuleError(loadModule({ ref: `${repo}:v0.0.1`, cacheDir, templatePath: '../escape' }), 'MODULE_TEMPLATE_NOT_FOUND', /must be a relative path/)
  })

  it('names the template as Lilypad does in rendering errors', async () => {
    writeFileSync(join(repo, 'lilypad_module.json.tmpl'), '{"machine": {{ mul 1 2 }}}')
    git(repo, 'commit', '-q', '-am', 'broken')
    const commit = git(repo, 'rev-parse', 'HEAD')
    const err = await loadModule({ ref: `${repo}:${commit}`, cacheDir: join(dir, 'cache-h') }).catch((e: Error) => e)
    expect((err as Error).message).toBe(`template: ${repo}-lilypad_module.json.tmpl-${commit}:1: function "mul" not defined`.replace(':1:', ':1:15:'))
  })
})
