import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Docker from 'dockerode'
import { afterEach, describe, expect, it } from 'vitest'
import { DockerExecutor } from '../../../../src/executor/docker/executor.ts'
import type { DockerJob } from '../../../../src/executor/docker/job.ts'

const MiB = 1024 * 1024
const IMAGE = 'sha256:' + 'a'.repeat(64)
const dirs: string[] = []
afterEach(async () => { await Promise.all(dirs.splice(0).map(d => rm(d, { recursive: true, force: true }))) })

/** An engine that has the image, no containers, and records the container it is asked to create. */
function recordingEngine (): { docker: Docker, created: Docker.ContainerCreateOptions[] } {
  const created: Docker.ContainerCreateOptions[] = []
  const missing = Object.assign(new Error('no such container'), { statusCode: 404 })
  const docker = {
    getImage: () => ({ inspect: async () => ({ Id: IMAGE }) }),
    getContainer: () => ({ inspect: async () => { throw missing }, remove: async () => undefined }),
    createContainer: async (options: Docker.ContainerCreateOptions) => {
      created.push(options)
      throw Object.assign(new Error('recorded'), { statusCode: 500 })
    }
  } as unknown as Docker
  return { docker, created }
}

async function gpuJob (extra: Partial<DockerJob> = {}): Promise<DockerJob> {
  const dir = await mkdtemp(join(tmpdir(), 'container-config-'))
  dirs.push(dir)
  return { jobId: 'gpu-job', image: IMAGE, timeoutMs: 10_000, resultsDir: join(dir, 'results'), resources: { gpus: 1, memoryBytes: 0 }, ...extra }
}

describe('the container a GPU job asks Docker for', () => {
  it('carries an NVIDIA device request for the GPUs, runs as nobody and keeps the network off', async () => {
    const { docker, created } = recordingEngine()
    const executor = new DockerExecutor({ docker, slot: { cpuMilli: 8000, memoryBytes: 16_384 * MiB, gpus: 1 }, user: '65534:65534', outputsMode: 'directory' })
    await expect(executor.run(await gpuJob({ resources: { gpus: 4, memoryBytes: 0 } }))).rejects.toMatchObject({ code: 'EXECUTION_FAILED' })
    const [options] = created
    expect(options?.User).toBe('65534:65534')
    expect(options?.NetworkDisabled).toBe(true)
    expect(options?.HostConfig).toMatchObject({
      DeviceRequests: [{ Driver: 'nvidia', Count: 1, Capabilities: [['gpu']] }],
      // a job naming no memory gets the default on every machine, not this slot's size
      Memory: 512 * MiB,
      NanoCpus: 8e9,
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      Privileged: false
    })
    expect(options?.HostConfig?.Tmpfs?.['/tmp']).toMatch(/nosuid,nodev,.*uid=65534,gid=65534/)
  })

  it('is never made on a node whose slot has no GPU', async () => {
    const { docker, created } = recordingEngine()
    const executor = new DockerExecutor({ docker, slot: { cpuMilli: 8000, memoryBytes: 16_384 * MiB, gpus: 0 }, outputsMode: 'directory' })
    const job = await gpuJob()
    await expect(executor.run(job)).rejects.toMatchObject({ code: 'GPU_UNAVAILABLE' })
    expect(created).toEqual([])
    await expect(stat(job.resultsDir)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('refuses a container user that is not a numeric uid:gid', () => {
    expect(() => new DockerExecutor({ docker: recordingEngine().docker, user: 'nobody' })).toThrow('the container user must be a numeric uid:gid, not "nobody"')
  })
})
