/**
 * Images named by a tag, through a real registry on loopback: the job creator pins the tag to a
 * digest when it offers the job, and the provider pulls and runs exactly that digest, even after
 * the tag has moved on.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import Docker from 'dockerode'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { SCHEMES_ENV } from '../../../src/executor/modules/sources.ts'
import { DockerExecutor } from '../../../src/executor/docker/executor.ts'
import type { PullProgress } from '../../../src/executor/docker/image.ts'
import { pinImageTag } from '../../../src/executor/docker/pin-tag.ts'
import { loadModule, type LoadedModule } from '../../../src/executor/modules/load.ts'
import { ResultsStore } from '../../../src/executor/results/store.ts'
import { ModuleRunner } from '../../../src/node/adapters/module-runner.ts'
import { imagePinFor } from '../../../src/node/jobs/image-pin.ts'
import type { JobOffer } from '../../../src/protocols/messages/schemas.ts'
import { createModuleRepo, type ModuleRepo } from '../../support/modules.ts'
import { forgetImages, pushImage, startRegistry, type LoopbackRegistry } from '../../support/registry.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const stores: ResultsStore[] = []
afterEach(async () => { await Promise.all(stores.splice(0).map(s => s.close())) })

let registry: LoopbackRegistry
beforeAll(async () => {
  // the modules here are local repositories, which a node fetches only when told it may
  vi.stubEnv(SCHEMES_ENV, 'https,file')
  registry = await startRegistry()
}, 30_000)
afterAll(async () => {
  vi.unstubAllEnvs()
  await registry?.stop()
})

async function catModule (image: string): Promise<{ repo: ModuleRepo, module: LoadedModule }> {
  const into = join(await tempDir(), 'module')
  const repo = await createModuleRepo('cowsay', {
    into,
    files: {
      'lilypad_module.json.tmpl': JSON.stringify({
        machine: { gpu: 0, cpu: 500, ram: 64 },
        job: { APIVersion: 'V1beta1', Spec: { Engine: 'Docker', Timeout: 30, Docker: { Image: image, Entrypoint: ['/bin/cat', '/message'] } } }
      })
    }
  })
  const module = await loadModule({ ref: `${repo.path}:${repo.commit}`, inputs: {}, cacheDir: join(await tempDir(), 'modules') })
  return { repo, module }
}

function offer (repo: ModuleRepo, module: LoadedModule, image: string): JobOffer {
  return {
    author: '0x' + 'c1'.repeat(20), nonce: '1', expiry: 1_900_000_000_000,
    moduleRepo: repo.path, moduleCommit: repo.commit, modulePath: 'lilypad_module.json.tmpl',
    specHash: module.specHash, inputs: '{}', image, inputsCid: '', urlPins: '',
    cpu: 500, gpu: 0, gpuVramMb: 0, ramMb: 64, diskMb: 0,
    maxPrice: '1000', maxSolverFee: '10', paymentCollateral: '2000', timeoutCollateral: '300',
    trustedMediators: [], quorum: 1, trustedSolvers: [],
    matchDeadline: 1_900_000_030_000, agreeWithin: 10_000, submitWithin: 600_000, judgeWithin: 30_000, mediateWithin: 600_000
  }
}

async function provider (options: { registries?: string[], progress?: PullProgress[], maxImageBytes?: number } = {}): Promise<{ runner: ModuleRunner, dataDir: string }> {
  const dataDir = await tempDir()
  const store = await ResultsStore.open(dataDir)
  stores.push(store)
  const docker = new DockerExecutor({ onPullProgress: p => options.progress?.push(p), maxImageBytes: options.maxImageBytes })
  return { runner: new ModuleRunner({ dataDir, registries: options.registries }, { executors: { docker }, results: store }), dataDir }
}

const signal = (): AbortSignal => new AbortController().signal

describe('images named by a tag', () => {
  it('are pinned when the job is offered; the provider pulls that digest, showing progress, and runs it after the tag has moved', async () => {
    const name = `${registry.host}/lilypad-test/message`
    const first = await pushImage(`${name}:v1`, 'the first push\n')
    const { repo, module } = await catModule(`${name}:v1`)

    const pinned = await imagePinFor(module)
    expect(pinned).toBe(`${name}@${first}`)
    expect(await pinImageTag(new Docker(), pinned)).toBe(pinned)

    // the tag moves on once the job is offered
    const second = await pushImage(`${name}:v1`, 'the second push\n')
    expect(second).not.toBe(first)
    await forgetImages(name)

    const progress: PullProgress[] = []
    const { runner, dataDir } = await provider({ progress })
    const job = offer(repo, module, pinned)
    await runner.prepare(job, { maxDurationMs: 600_000 }, signal())
    expect(progress.at(-1)).toMatchObject({ image: pinned, done: true, layers: 1, layersDone: 1 })
    expect(progress.at(-1)!.totalBytes).toBeGreaterThan(100_000)

    const ran = await runner.run(job, 'run:0xa1', signal())
    expect(ran.exitCode).toBe(0)
    const [folder] = (await readdir(join(dataDir, 'results'))).filter(name => !name.startsWith('.'))
    expect(await readFile(join(dataDir, 'results', folder!, 'stdout'), 'utf8')).toBe('the first push\n')
  }, 120_000)

  it('are refused before signing when the offer pins none, or pins another repository', async () => {
    const name = `${registry.host}/lilypad-test/refused`
    const digest = await pushImage(`${name}:v1`, 'refused\n')
    const { repo, module } = await catModule(`${name}:v1`)
    const { runner } = await provider()
    await expect(runner.prepare(offer(repo, module, ''), { maxDurationMs: 600_000 }, signal()))
      .rejects.toMatchObject({ code: 'ERR_IMAGE_NOT_PINNED', message: expect.stringContaining(`image "${name}:v1" is named by a tag, and the offer pins no digest for it`) })
    await expect(runner.prepare(offer(repo, module, `${registry.host}/other@${digest}`), { maxDurationMs: 600_000 }, signal()))
      .rejects.toMatchObject({ code: 'ERR_IMAGE_NOT_PINNED', message: expect.stringContaining(`which is not ${name} by digest`) })
  }, 60_000)

  it('from a registry the provider does not pull from are refused before signing', async () => {
    const name = `${registry.host}/lilypad-test/elsewhere`
    const digest = await pushImage(`${name}:v1`, 'elsewhere\n')
    const { repo, module } = await catModule(`${name}:v1`)
    const { runner } = await provider({ registries: ['docker.io'] })
    await expect(runner.prepare(offer(repo, module, `${name}@${digest}`), { maxDurationMs: 600_000 }, signal()))
      .rejects.toMatchObject({ code: 'ERR_IMAGE_UNAVAILABLE', message: `image ${name}@${digest} comes from ${registry.host}, and this provider pulls only from docker.io` })
  }, 60_000)

  it('larger than the provider pulls are refused before signing, the pull stopped, nothing left behind', async () => {
    const name = `${registry.host}/lilypad-test/too-large`
    const digest = await pushImage(`${name}:v1`, 'too large\n')
    await forgetImages(name)
    const { repo, module } = await catModule(`${name}:v1`)
    const { runner } = await provider({ maxImageBytes: 10_000 })
    await expect(runner.prepare(offer(repo, module, `${name}@${digest}`), { maxDurationMs: 600_000 }, signal()))
      .rejects.toMatchObject({ code: 'ERR_IMAGE_UNAVAILABLE', message: expect.stringMatching(new RegExp(`^image ${name}@${digest} has more than 10000 bytes of layers \\(\\d+ announced so far\\), more than this node pulls$`)) })
    await expect(new Docker().getImage(`${name}@${digest}`).inspect()).rejects.toMatchObject({ statusCode: 404 })
  }, 60_000)

  it('that no registry serves cannot be offered: the creator is told why in one line', async () => {
    const { module } = await catModule(`${registry.host}/lilypad-test/never-pushed:v1`)
    await expect(imagePinFor(module)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(new RegExp(`^cannot pin image ${registry.host}/lilypad-test/never-pushed:v1 to a digest: its registry did not answer for tag v1`)) })
  }, 60_000)
})
