import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { containerName } from '../../../src/executor/docker/container-name.ts'
import { DockerExecutor } from '../../../src/executor/docker/executor.ts'
import type { DockerJob } from '../../../src/executor/docker/job.ts'
import { sweepSpares } from '../../../src/executor/docker/spare-outputs.ts'
import { ensureCowsayImage } from '../../support/modules.ts'
import { useTempDirs } from '../../support/temp-dir.ts'
import { mountsUnder } from '../../support/remove-tree.ts'

const MiB = 1024 * 1024
const tempDir = useTempDirs()
const slot = { cpuMilli: 1500, memoryBytes: 96 * MiB, gpus: 0, diskBytes: 64 * MiB }
const defaultResources = { cpuMilli: 1000, memoryBytes: 64 * MiB, pids: 256 }
let image: string
let counter = 0

beforeAll(async () => {
  await new DockerExecutor().ping()
  image = await ensureCowsayImage()
})

function job (root: string, script: string, extra: Partial<DockerJob> = {}): DockerJob {
  const jobId = `made-ahead-${process.pid}-${Date.now()}-${counter++}`
  return { jobId, image, entrypoint: ['/bin/sh', '-c', script], timeoutMs: 30_000, resultsDir: join(root, jobId), ...extra }
}

/** The names in the results root's outputs filesystems folder: spares, their images and runs' links. */
async function outputsFs (root: string): Promise<string[]> {
  return (await readdir(join(root, '.outputs-fs')).catch(() => [] as string[])).sort()
}


async function until (what: string, test: () => Promise<boolean>): Promise<void> {
  for (const started = Date.now(); !await test();) {
    if (Date.now() - started > 10_000) throw new Error(`not within 10 s: ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

const spareNames = (names: string[]): string[] => names.filter(name => name.startsWith('spare-') && !name.endsWith('.img'))

describe('outputs filesystems made ahead of a run', () => {
  it('a run takes the one made ahead, with its quota, and the next is made once the run has ended', async () => {
    const root = join(await tempDir(), 'results')
    const executor = new DockerExecutor({ slot, defaultResources, spareOutputs: true, cleanUpAfterResults: true })
    try {
      executor.prepareOutputs(root)
      await until('a spare is mounted', async () => (await mountsUnder(root)).length === 1)
      const [spare] = spareNames(await outputsFs(root))

      const first = job(root, 'echo hi > /outputs/a; sleep 1')
      await executor.start(first)
      const bound = (await executor.docker.getContainer(containerName('lilypad-job-', first.jobId)).inspect()).HostConfig.Binds ?? []
      expect(bound).toEqual([`${join(root, '.outputs-fs', spare!)}:/outputs:rw`])
      expect((await executor.run(first)).exitCode).toBe(0)
      expect(await readFile(join(first.resultsDir, 'outputs', 'a'), 'utf8')).toBe('hi\n')
      await executor.cleanedUp()
      await until('the next spare is mounted', async () => (await mountsUnder(root)).length === 1)
      const after = await outputsFs(root)
      expect(spareNames(after)).toHaveLength(1)
      expect(spareNames(after)).not.toContain(spare)
      expect(after.filter(name => !name.startsWith('spare-'))).toEqual([])

      // a spare made for a quota holds that quota, as the run's own would
      await executor.run(job(root, 'true', { outputsBytes: 4 * MiB }))
      await until('a spare of 4 MiB is mounted', async () => (await mountsUnder(root)).length === 1)
      const over = job(root, 'dd if=/dev/zero of=/outputs/fill bs=1M count=200', { outputsBytes: 4 * MiB })
      await expect(executor.run(over)).rejects.toMatchObject({ code: 'OUTPUTS_TOO_LARGE' })
      expect(await readFile(join(over.resultsDir, 'stderr'), 'utf8')).toMatch(/No space left on device/)
    } finally {
      await executor.close()
    }
    expect(await mountsUnder(root)).toEqual([])
    expect(await outputsFs(root)).toEqual([])
  })

  it('the cleanup and the next spare wait for the quiet time after the results, or for close', async () => {
    const root = join(await tempDir(), 'results')
    const quietMs = 3000
    const executor = new DockerExecutor({ slot, defaultResources, spareOutputs: true, cleanUpAfterResults: true, quietAfterResultsMs: quietMs })
    const container = (j: DockerJob) => executor.docker.getContainer(containerName('lilypad-job-', j.jobId))
    try {
      executor.prepareOutputs(root)
      await until('a spare is mounted', async () => (await mountsUnder(root)).length === 1)
      const [spare] = spareNames(await outputsFs(root))
      const first = job(root, 'echo hi > /outputs/a')
      expect((await executor.run(first)).exitCode).toBe(0)
      const collected = Date.now()
      // held back: the run's container and outputs are still there, and no spare is made yet
      expect((await container(first).inspect()).State.Status).toBe('exited')
      expect(await mountsUnder(root)).toEqual([join(root, '.outputs-fs', spare!)])
      await until('the run is cleaned up', async () => await container(first).inspect().then(() => false, () => true))
      await until('the next spare is mounted', async () => spareNames(await outputsFs(root)).some(name => name !== spare) && (await mountsUnder(root)).length === 1)
      expect(Date.now() - collected).toBeGreaterThanOrEqual(quietMs - 100)

      // close does not wait for the quiet time: it cleans up at once
      const second = job(root, 'true')
      await executor.run(second)
      const closing = Date.now()
      await executor.close()
      expect(Date.now() - closing).toBeLessThan(quietMs)
      await expect(container(second).inspect()).rejects.toMatchObject({ statusCode: 404 })
    } finally {
      await executor.close()
    }
    expect(await mountsUnder(root)).toEqual([])
    expect(await outputsFs(root)).toEqual([])
  })

  it('a spare a killed node left is removed at the next start, and one a run took lives until the run is collected', async () => {
    const root = join(await tempDir(), 'results')
    const killed = new DockerExecutor({ slot, defaultResources, spareOutputs: true, cleanUpAfterResults: true })
    killed.prepareOutputs(root)
    const running = job(root, 'echo before > /outputs/a; sleep 1; echo after > /outputs/b')
    await killed.start(running)
    killed.prepareOutputs(root)
    await until('a second spare is mounted', async () => (await mountsUnder(root)).length === 2)

    // the node was killed here, before it could collect the run or remove its spare
    await sweepSpares(root)
    const kept = await mountsUnder(root)
    expect(kept).toHaveLength(1)
    expect(kept[0]).toBe(join(root, '.outputs-fs', spareNames(await outputsFs(root)).at(0)!))

    const restarted = new DockerExecutor({ slot, defaultResources, spareOutputs: true, cleanUpAfterResults: true })
    try {
      expect((await restarted.run(running)).exitCode).toBe(0)
      expect(await readFile(join(running.resultsDir, 'outputs', 'b'), 'utf8')).toBe('after\n')
    } finally {
      await restarted.close()
    }
    expect(await mountsUnder(root)).toEqual([])
    expect(await outputsFs(root)).toEqual([])
  })
})
