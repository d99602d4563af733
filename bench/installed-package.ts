// The package as a user installs it: `npm pack` (which builds dist/ first), then `npm install` of the
// tarball into an empty folder, from npm's cache where it holds them (--prefer-offline: a fresh machine's cache has the tarballs npm ci fetched, not the registry's package documents), with no TypeScript tooling or solc.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { PACKAGE_ROOT } from '../src/support/package-root.ts'

const exec = promisify(execFile)

export interface InstalledPackage {
  /** the installed `lilypad` command */
  bin: string
  tarballBytes: number
  packMs: number
  installMs: number
  /** development tools found in the installed tree (none is expected) */
  devTools: string[]
}

export async function installPackage (dir: string): Promise<InstalledPackage> {
  await mkdir(join(dir, 'pack'), { recursive: true })
  let started = performance.now()
  await exec('npm', ['pack', '--pack-destination', join(dir, 'pack')], { cwd: PACKAGE_ROOT, maxBuffer: 64 * 1024 * 1024 })
  const packMs = performance.now() - started
  const tarball = (await readdir(join(dir, 'pack'))).find(f => f.endsWith('.tgz'))
  if (tarball === undefined) throw new Error('npm pack wrote no tarball')
  const app = join(dir, 'app')
  await mkdir(app, { recursive: true })
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'lilypad-user', private: true }))
  started = performance.now()
  await exec('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, 'pack', tarball)], { cwd: app, maxBuffer: 64 * 1024 * 1024 })
  const installMs = performance.now() - started
  const { size } = await stat(join(dir, 'pack', tarball))
  const devTools = ['tsx', 'typescript', 'solc', 'wabt', 'vitest'].filter(name => existsSync(join(app, 'node_modules', name)))
  return { bin: join(app, 'node_modules', '.bin', 'lilypad'), tarballBytes: size, packMs, installMs, devTools }
}
