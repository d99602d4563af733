// Builds the demo modules of modules/ for the demo, devnets, tests and benches: the cowsay image (offline,
// with `docker import`), the cowsay WASI program (from its WAT source) and local git repositories
// holding each module's template, tagged v0.0.1, that module references can point at.
import { execFile } from 'node:child_process'
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { buildCowsayWasm } from '../../../scripts/build-cowsay-wasm.ts'
import { PACKAGE_ROOT } from '../../support/package-root.ts'

const run = promisify(execFile)
export const REPO_ROOT = PACKAGE_ROOT
export const MODULES_DIR = join(REPO_ROOT, 'modules')
export const COWSAY_IMAGE_PLACEHOLDER = '@@COWSAY_IMAGE_ID@@'
export const MODULE_TAG = 'v0.0.1'

/** The id (`sha256:…`) of the cowsay image, built from busybox the first time. */
export async function ensureCowsayImage (options: { rebuild?: boolean } = {}): Promise<string> {
  const script = join(REPO_ROOT, 'scripts', 'build-cowsay-image.sh')
  const { stdout } = await run('bash', [script, ...(options.rebuild ? ['--rebuild'] : [])])
  const id = stdout.trim().split('\n').pop() ?? ''
  if (!/^sha256:[0-9a-f]{64}$/.test(id)) throw new Error(`build-cowsay-image.sh printed no image id: ${stdout}`)
  return id
}

export interface ModuleRepo {
  /** the repository folder: a module reference by local path */
  path: string
  tag: string
  commit: string
}

/**
 * Copies modules/<name> into a fresh git repository, replaces placeholders in its files, commits
 * and tags it. `files` adds generated files (e.g. the compiled WASM).
 */
export async function createModuleRepo (name: string, options: {
  into?: string
  substitutions?: Record<string, string>
  files?: Record<string, Uint8Array | string>
  tag?: string
} = {}): Promise<ModuleRepo> {
  const path = options.into ?? await mkdtemp(join(tmpdir(), `lilypad-module-${name}-`))
  await cp(join(MODULES_DIR, name), path, { recursive: true })
  const template = join(path, 'lilypad_module.json.tmpl')
  let text = await readFile(template, 'utf8')
  for (const [from, to] of Object.entries(options.substitutions ?? {})) text = text.split(from).join(to)
  await writeFile(template, text)
  for (const [file, content] of Object.entries(options.files ?? {})) await writeFile(join(path, file), content)
  const git = (...args: string[]): Promise<{ stdout: string }> => run('git', args, {
    cwd: path,
    env: { ...process.env, GIT_AUTHOR_NAME: 'lilypad', GIT_AUTHOR_EMAIL: 'modules@lilypad.invalid', GIT_COMMITTER_NAME: 'lilypad', GIT_COMMITTER_EMAIL: 'modules@lilypad.invalid', GIT_AUTHOR_DATE: '2025-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2025-01-01T00:00:00Z' }
  })
  const tag = options.tag ?? MODULE_TAG
  await git('init', '-q', '-b', 'main')
  await git('add', '-A')
  await git('commit', '-q', '-m', `${name} module`)
  await git('tag', tag)
  const commit = (await git('rev-parse', 'HEAD')).stdout.trim()
  return { path, tag, commit }
}

/** The cowsay Docker module, its template pinned to the locally built image id. */
export async function createCowsayRepo (options: { into?: string } = {}): Promise<ModuleRepo & { imageId: string }> {
  const imageId = await ensureCowsayImage()
  const repo = await createModuleRepo('cowsay', { ...options, substitutions: { [COWSAY_IMAGE_PLACEHOLDER]: imageId } })
  return { ...repo, imageId }
}

/** The cowsay WASI module, with cowsay.wasm compiled from source next to its template. */
export async function createCowsayWasmRepo (options: { into?: string } = {}): Promise<ModuleRepo & { wasm: Uint8Array }> {
  const wasm = await buildCowsayWasm()
  const repo = await createModuleRepo('cowsay-wasm', { ...options, files: { 'cowsay.wasm': wasm } })
  return { ...repo, wasm }
}
