import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { createCowsayRepo, createCowsayWasmRepo, createModuleRepo, REPO_ROOT } from '../../support/modules.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const run = promisify(execFile)

async function lilypad (args: string[], dataDir: string): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [join(REPO_ROOT, 'bin', 'lilypad.js'), ...args], { env: { ...process.env, DATA_DIR: dataDir } })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number, stdout: string, stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

let imageId: string
beforeAll(async () => { imageId = (await createCowsayRepo({ into: join(await tempDir(), 'warm') })).imageId })

describe('lilypad module check', () => {
  it('finds the Docker cowsay module stable', async () => {
    const repo = await createCowsayRepo({ into: join(await tempDir(), 'cowsay') })
    const r = await lilypad(['module', 'check', `${repo.path}:v0.0.1`, '-i', 'Message=moo', '--runs', '2'], await tempDir())
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/run 1: (Qm\w+) exit 0\nrun 2: \1 exit 0\nstable: every run gave \1/)
  })

  it('finds the WASM cowsay module stable', async () => {
    const repo = await createCowsayWasmRepo({ into: join(await tempDir(), 'cowsay-wasm') })
    const r = await lilypad(['module', 'check', `${repo.path}:v0.0.1`, '-i', 'Message=moo', '--runs', '3'], await tempDir())
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('(wasm), 3 runs')
    expect(r.stdout).toMatch(/stable: every run gave Qm/)
  })

  it('reports a module whose results differ between runs, and exits non-zero', async () => {
    const src = join(await tempDir(), 'src')
    await mkdir(src)
    const repo = await createModuleRepo('cowsay', {
      into: src,
      files: {
        'lilypad_module.json.tmpl': JSON.stringify({
          machine: { gpu: 0, cpu: 1000, ram: 100 },
          job: { APIVersion: 'V1beta1', Spec: { Engine: 'Docker', Timeout: 30, Docker: { Image: imageId, Entrypoint: ['/bin/sh', '-c', 'cat /proc/sys/kernel/random/uuid'] } } }
        })
      }
    })
    const r = await lilypad(['module', 'check', `${repo.path}:v0.0.1`], await tempDir())
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('UNSTABLE')
  })

  it('explains an unknown module in one line', async () => {
    const r = await lilypad(['module', 'check', `${join(await tempDir(), 'missing')}:v0.0.1`], await tempDir())
    expect(r.code).not.toBe(0)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^lilypad module check: /)
  })
})

describe('lilypad results cid', () => {
  /** Runs the CLI in this process (its start-up is what the spawned tests above already cover). */
  async function inProcess (args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
    const { main } = await import('../../../src/cli/main.ts')
    let stdout = ''
    let stderr = ''
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { stdout += String(s); return true })
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { stderr += String(s); return true })
    try {
      const code = await main(['node', 'lilypad', ...args])
      return { code, stdout, stderr }
    } finally {
      out.mockRestore(); err.mockRestore()
      process.exitCode = undefined
    }
  }

  it('prints a folder\'s CID as ipfs add -r does', async () => {
    const dir = join(await tempDir(), 'empty')
    await mkdir(dir)
    const r = await lilypad(['results', 'cid', dir], await tempDir())
    expect(r).toMatchObject({ code: 0, stdout: 'QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn\n' })
    await writeFile(join(dir, 'f'), 'hello\n')
    expect(await inProcess(['results', 'cid', join(dir, 'f')])).toMatchObject({ code: 0, stdout: 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN\n' })
    const bad = await inProcess(['results', 'cid', join(dir, 'nope')])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^lilypad results cid: cannot read/)
  })
})
