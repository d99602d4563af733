/**
 * A Docker registry on loopback (Debian's `docker-registry`), and small images built offline from
 * the host's static busybox, pushed to it by tag. Docker trusts registries on 127.0.0.0/8 over
 * plain HTTP, so nothing needs configuring.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface LoopbackRegistry {
  /** `127.0.0.1:<port>`: the registry part of an image name */
  host: string
  stop: () => Promise<void>
}

export async function startRegistry (): Promise<LoopbackRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-registry-'))
  const port = await freePort()
  const host = `127.0.0.1:${port}`
  const config = join(dir, 'config.yml')
  await writeFile(config, `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n`)
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString() })
  const spawned = new Promise<void>((resolve, reject) => { child.once('error', reject); child.once('spawn', resolve) })
  await spawned.catch((err: Error) => { throw new Error(`cannot start docker-registry (Debian: apt-get install docker-registry): ${err.message}`) })
  for (let i = 0; ; i++) {
    if (await fetch(`http://${host}/v2/`).then(r => r.ok, () => false)) break
    if (i === 100 || child.exitCode !== null) throw new Error(`docker-registry did not answer on ${host}: ${stderr}`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return {
    host,
    stop: async () => {
      if (child.exitCode === null) await new Promise<void>(resolve => { child.once('exit', () => resolve()); child.kill('SIGTERM') })
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/**
 * Builds an image that holds busybox and `/message` (so each message gives other bytes), pushes it
 * as `ref`, and removes it from the local engine: a provider must pull it. Returns the digest the
 * registry gave it.
 */
export async function pushImage (ref: string, message: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'lilypad-image-'))
  try {
    await mkdir(join(root, 'bin'))
    await copyFile('/bin/busybox', join(root, 'bin', 'busybox'))
    await chmod(join(root, 'bin', 'busybox'), 0o755)
    for (const applet of ['sh', 'cat', 'echo', 'sleep']) await symlink('busybox', join(root, 'bin', applet))
    await writeFile(join(root, 'message'), message)
    await run('sh', ['-c', `tar -C '${root}' -c . | docker import - '${ref}'`])
    const { stdout } = await run('docker', ['push', ref])
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1]
    if (digest === undefined) throw new Error(`docker push ${ref} printed no digest: ${stdout}`)
    await run('docker', ['rmi', '--force', ref])
    return digest
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** Removes every local image of a repository, so the next use must pull. */
export async function forgetImages (name: string): Promise<void> {
  const { stdout } = await run('docker', ['images', '--no-trunc', '--format', '{{.ID}}', name])
  const ids = [...new Set(stdout.split('\n').filter(Boolean))]
  if (ids.length > 0) await run('docker', ['rmi', '--force', ...ids]).catch(() => undefined)
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
