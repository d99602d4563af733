import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import Docker from 'dockerode'
import { PassThrough } from 'node:stream'
import { repoRoot } from '../support/child.ts'

describe('the Docker engine', () => {
  it('runs a container from an image built offline and gives back its stdout', async () => {
    const docker = new Docker()
    await docker.ping().catch((err: Error) => {
      throw new Error(`no Docker engine answers at /var/run/docker.sock (${err.message}); .ci/run starts one`)
    })
    const image = execFileSync('bash', ['scripts/build-cowsay-image.sh'], { cwd: repoRoot, encoding: 'utf8' }).trim()
    expect(image).toMatch(/^sha256:[0-9a-f]{64}$/)
    const stdout = new PassThrough()
    let text = ''
    stdout.on('data', (chunk: Buffer) => { text += chunk.toString() })
    const stderr = new PassThrough()
    const [result, container] = await docker.run(image, ['echo', 'engine works'], [stdout, stderr], {
      Tty: false,
      HostConfig: { NetworkMode: 'none', AutoRemove: false }
    }) as [{ StatusCode: number }, Docker.Container]
    await container.remove({ force: true })
    expect(result.StatusCode).toBe(0)
    expect(text).toBe('engine works\n')
  })
})
