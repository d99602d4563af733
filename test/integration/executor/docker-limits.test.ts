import { readdir, readFile, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type Docker from 'dockerode'
import { beforeAll, describe, expect, it } from 'vitest'
import { containerName } from '../../../src/executor/docker/container-name.ts'
import { DockerExecutor } from '../../../src/executor/docker/executor.ts'
import type { DockerJob } from '../../../src/executor/docker/job.ts'
import { cidOfPath } from '../../../src/executor/results/cid.ts'
import { writeExitCode } from '../../../src/executor/results/layout.ts'
import { release } from '../../../src/executor/docker/outputs-fs.ts'
import { ensureCowsayImage } from '../../support/modules.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const MiB = 1024 * 1024
const tempDir = useTempDirs()
const slot = { cpuMilli: 1500, memoryBytes: 96 * MiB, gpus: 0, diskBytes: 64 * MiB }
// jobs here name no memory: they get a default that fits the small slot
const defaultResources = { cpuMilli: 1000, memoryBytes: 64 * MiB, pids: 256 }
const executor = new DockerExecutor({ slot, defaultResources })
let image: string
let counter = 0

beforeAll(async () => {
  // no skip: CI always runs an engine, so a missing one is a failure with a clear message
  await executor.ping()
  image = await ensureCowsayImage()
})

async function job (script: string, extra: Partial<DockerJob> = {}): Promise<DockerJob> {
  return {
    jobId: `limits-${process.pid}-${Date.now()}-${counter++}`,
    image,
    entrypoint: ['/bin/sh', '-c', script],
    timeoutMs: 30_000,
    resultsDir: join(await tempDir(), 'results'),
    ...extra
  }
}

const read = (dir: string, name: string): Promise<string> => readFile(join(dir, name), 'utf8')

/** What Docker was told for a job: the container's configuration, read while it runs. */
async function configOf (on: DockerExecutor, j: DockerJob): Promise<Docker.ContainerInspectInfo> {
  await on.start(j)
  const info = await on.docker.getContainer(containerName('lilypad-job-', j.jobId)).inspect()
  await on.run(j)
  return info
}

/** The host holds no outputs image or mount once a job is over. */
async function expectNoOutputsImage (resultsDir: string): Promise<void> {
  const left = await readdir(join(dirname(resultsDir), '.outputs-fs')).catch(() => [])
  expect(left).toEqual([])
}

describe('Docker executor limits', () => {
  it('clamps a spec\'s CPU to the slot (the whole slot for zero or nothing), gives the memory it names or the default, and refuses more memory than the slot', async () => {
    for (const resources of [{ cpuMilli: 0, memoryBytes: 0 }, {}]) {
      const { HostConfig } = await configOf(executor, await job('true', { resources }))
      expect(HostConfig).toMatchObject({ Memory: 64 * MiB, MemorySwap: 64 * MiB, NanoCpus: 1.5e9 })
    }
    await expect(configOf(executor, await job('true', { resources: { cpuMilli: 64_000, memoryBytes: 64 * 1024 * MiB } }))).rejects.toMatchObject({ code: 'RESOURCES_UNAVAILABLE' })
    const { HostConfig } = await configOf(executor, await job('true', { resources: { cpuMilli: 500, memoryBytes: 32 * MiB } }))
    expect(HostConfig).toMatchObject({ Memory: 32 * MiB, NanoCpus: 0.5e9, NetworkMode: 'none' })
    expect(HostConfig.DeviceRequests ?? []).toEqual([])
  })

  it('runs jobs as nobody, with /outputs writable, nosuid and nodev, and the results readable', async () => {
    const j = await job('id -u; id -g; echo data > /outputs/a.txt && mkdir /outputs/d && echo more > /outputs/d/b.txt; grep " /outputs " /proc/mounts')
    const r = await executor.run(j)
    expect(r.exitCode).toBe(0)
    const [uid, gid, mount] = (await read(j.resultsDir, 'stdout')).trim().split('\n')
    expect([uid, gid]).toEqual(['65534', '65534'])
    expect(mount).toMatch(/\bnosuid\b/)
    expect(mount).toMatch(/\bnodev\b/)
    expect(await read(join(j.resultsDir, 'outputs'), 'a.txt')).toBe('data\n')
    expect(await read(join(j.resultsDir, 'outputs', 'd'), 'b.txt')).toBe('more\n')
    expect((await readdir(join(j.resultsDir, 'outputs'))).sort()).toEqual(['a.txt', 'd'])
    await expectNoOutputsImage(j.resultsDir)
  })

  it('leaves no setuid or setgid program of a job\'s on the host', async () => {
    const j = await job('cp /bin/busybox /outputs/prog && chmod 6755 /outputs/prog && ls -l /outputs/prog')
    expect((await executor.run(j)).exitCode).toBe(0)
    expect(await read(j.resultsDir, 'stdout')).toMatch(/^-rwsr-sr-x/)
    const { mode, uid } = await stat(join(j.resultsDir, 'outputs', 'prog'))
    expect(mode & 0o7777).toBe(0o755)
    expect(uid).toBe(0)
  })

  it('stops a job that fills its disk at the quota, fails it, and the next job still runs', async () => {
    const j = await job('dd if=/dev/zero of=/outputs/fill bs=1M count=200; echo dd-exit=$?', { outputsBytes: 4 * MiB })
    await expect(executor.run(j)).rejects.toMatchObject({ code: 'OUTPUTS_TOO_LARGE' })
    // the kernel refused the writes well short of 200 MiB: the image is the quota and a little more
    expect(await read(j.resultsDir, 'stderr')).toMatch(/No space left on device/)
    expect(await read(j.resultsDir, 'stdout')).toMatch(/dd-exit=1/)
    await expectNoOutputsImage(j.resultsDir)
    const next = await job('echo still here > /outputs/ok; echo ran')
    expect((await executor.run(next)).exitCode).toBe(0)
    expect(await read(join(next.resultsDir, 'outputs'), 'ok')).toBe('still here\n')
  })

  it('draws the quota at the bytes the files hold: at the quota passes, one byte over fails, sparse files count whole', async () => {
    const quota = 2 * MiB
    const exact = await job(`head -c ${quota - 3} /dev/zero > /outputs/a; printf abc > /outputs/b`, { outputsBytes: quota })
    expect((await executor.run(exact)).exitCode).toBe(0)
    expect((await stat(join(exact.resultsDir, 'outputs', 'a'))).size).toBe(quota - 3)
    const over = await job(`head -c ${quota} /dev/zero > /outputs/a; printf x > /outputs/.hidden`, { outputsBytes: quota })
    await expect(executor.run(over)).rejects.toMatchObject({ code: 'OUTPUTS_TOO_LARGE' })
    const sparse = await job('truncate -s 100G /outputs/sparse', { outputsBytes: quota })
    await expect(executor.run(sparse)).rejects.toThrow(`the job left ${100 * 1024 * MiB} bytes in /outputs, over its quota of ${quota}`)
  })

  it('keeps a running job\'s outputs across a restart of the node, and collects them after', async () => {
    const j = await job('echo before > /outputs/a; sleep 1; echo after > /outputs/b', { outputsBytes: 4 * MiB })
    await new DockerExecutor({ slot, defaultResources }).start(j)
    const restarted = new DockerExecutor({ slot, defaultResources })
    expect((await restarted.run(j)).exitCode).toBe(0)
    expect(await read(join(j.resultsDir, 'outputs'), 'a')).toBe('before\n')
    expect(await read(join(j.resultsDir, 'outputs'), 'b')).toBe('after\n')
    await expectNoOutputsImage(j.resultsDir)
  })

  it('removes at start what a run collected before its node was killed left: its container and outputs image', async () => {
    const j = await job('echo done > /outputs/a', { outputsBytes: 4 * MiB })
    await executor.start(j)
    const container = executor.docker.getContainer(containerName('lilypad-job-', j.jobId))
    await container.wait({ condition: 'not-running' })
    // killed after the results were in (the exit code is written last), before the cleanup after
    await writeExitCode(j.resultsDir, 0)
    const running = await job('sleep 30', { resultsDir: join(dirname(j.resultsDir), 'still-running') })
    await executor.start(running)

    await new DockerExecutor({ slot, defaultResources }).sweep(dirname(j.resultsDir))
    expect((await executor.list()).map(c => c.jobId)).not.toContain(j.jobId)
    expect(await readdir(join(dirname(j.resultsDir), '.outputs-fs'))).toEqual(['still-running', 'still-running.img'])
    await executor.remove(running.jobId)
    await release(running.resultsDir)
  })

  it('gives the same results CID on two runs of a job within its quota', async () => {
    const script = 'mkdir /outputs/x; seq 1 50000 > /outputs/x/n; echo hi > /outputs/h'
    const a = await job(script, { outputsBytes: 8 * MiB })
    const b = await job(script, { outputsBytes: 8 * MiB })
    await executor.run(a)
    await executor.run(b)
    expect((await cidOfPath(a.resultsDir)).toString()).toBe((await cidOfPath(b.resultsDir)).toString())
  })

  it('gives a node that cannot mount an image the same verdicts and the same CID, checked after the run', async () => {
    const plain = new DockerExecutor({ slot, defaultResources, outputsMode: 'directory' })
    const script = 'mkdir /outputs/x; seq 1 20000 > /outputs/x/n'
    const [inImage, inFolder] = [await job(script, { outputsBytes: 2 * MiB }), await job(script, { outputsBytes: 2 * MiB })]
    await executor.run(inImage)
    await plain.run(inFolder)
    expect((await cidOfPath(inFolder.resultsDir)).toString()).toBe((await cidOfPath(inImage.resultsDir)).toString())
    const over = await job('head -c 3145728 /dev/zero > /outputs/big', { outputsBytes: 2 * MiB })
    await expect(plain.run(over)).rejects.toMatchObject({ code: 'OUTPUTS_TOO_LARGE' })
  })

  it('refuses a quota larger than the slot\'s disk before it makes a container', async () => {
    const j = await job('echo never', { outputsBytes: 128 * MiB })
    await expect(executor.run(j)).rejects.toMatchObject({ code: 'OUTPUTS_TOO_LARGE' })
    await expect(executor.run(j)).rejects.toThrow(`may leave ${128 * MiB} bytes in /outputs, more than this node's ${64 * MiB}-byte slot holds`)
  })

  it('keeps a job that asks for a network off it unless the node allows one', async () => {
    const asks = await job('true', { network: true })
    await expect(executor.run(asks)).rejects.toMatchObject({ code: 'NETWORK_NOT_ALLOWED' })
    await expect(executor.run(asks)).rejects.toThrow('asks for a network, and this node runs jobs without one')
    const open = new DockerExecutor({ slot, defaultResources, allowNetwork: true })
    expect((await configOf(open, asks)).HostConfig.NetworkMode).toBe('bridge')
    expect((await configOf(open, await job('true'))).HostConfig.NetworkMode).toBe('none')
  })

  it('asks Docker for NVIDIA GPUs, and never runs a GPU job where the slot has none', async () => {
    const cpuOnly = await job('echo never', { resources: { gpus: 1 } })
    await expect(executor.run(cpuOnly)).rejects.toMatchObject({ code: 'GPU_UNAVAILABLE' })
    // this engine has no NVIDIA runtime: the device request reaching it is what fails the start
    const gpuSlot = new DockerExecutor({ slot: { ...slot, gpus: 2 }, defaultResources })
    const asks = await job('echo never', { resources: { gpus: 3 } })
    const failed = await gpuSlot.run(asks).catch((err: unknown) => err)
    expect(failed).toMatchObject({ code: 'EXECUTION_FAILED', message: expect.stringMatching(/could not select device driver "nvidia" with capabilities: \[\[gpu\]\]/) })
    await expectNoOutputsImage(asks.resultsDir)
    expect(await gpuSlot.gpuRuntime()).toBe(false)
  })
})
