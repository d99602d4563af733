// The node side of scripts/gpu-check.sh: runs a one-GPU CUDA module as a provider would, and checks
// that the container saw exactly the GPU it was given. Usage: gpu-check.ts <image id>.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DockerExecutor } from '../src/executor/docker/executor.ts'
import { dockerJobFromModule } from '../src/executor/docker/from-module.ts'
import { loadModule } from '../src/executor/modules/load.ts'
import { ResultsStore } from '../src/executor/results/store.ts'
import { ModuleRunner } from '../src/node/adapters/module-runner.ts'
import { detectCapacity } from '../src/node/capacity.ts'
import type { JobOffer } from '../src/protocols/messages/schemas.ts'
import { createModuleRepo } from '../src/cli/demo/demo-modules.ts'

const MiB = 1024 * 1024

class CheckFailed extends Error {}

function fail (message: string): never {
  throw new CheckFailed(message)
}

async function check (imageId: string, work: string): Promise<void> {
  if (!/^sha256:[0-9a-f]{64}$/.test(imageId)) fail(`expected an image id (sha256:…), not ${JSON.stringify(imageId)}`)
  const executor = new DockerExecutor()
  if (!await executor.gpuRuntime()) fail('Docker has no nvidia runtime')
  const capacity = await detectCapacity(work)
  if (capacity.gpu < 1) fail('nvidia-smi reports no GPU')
  const slot = { cpuMilli: 2000, memoryBytes: 2048 * MiB, gpus: 1, diskBytes: 1024 * MiB }

  const script = 'nvidia-smi; echo; nvidia-smi -L > /outputs/gpus.txt; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader'
  const module = await createModuleRepo('cowsay', {
    into: join(work, 'module'),
    files: {
      'lilypad_module.json.tmpl': JSON.stringify({
        machine: { gpu: 1, cpu: 1000, ram: 1000, gpus: [{ vram: capacity.gpuVramMb }] },
        job: {
          APIVersion: 'V1beta1',
          Spec: {
            Engine: 'Docker',
            Timeout: 120,
            Docker: { Image: imageId, Entrypoint: ['/bin/sh', '-c', script] },
            Resources: { CPU: '1', Memory: '1Gi', GPU: '1' }
          }
        }
      })
    }
  })
  const loaded = await loadModule({ ref: `${module.path}:${module.commit}`, inputs: {}, cacheDir: join(work, 'modules'), allowedSchemes: ['file'] })
  const offer: JobOffer = {
    author: '0x' + '00'.repeat(20), nonce: '1', expiry: Date.now() + 600_000,
    moduleRepo: module.path, moduleCommit: module.commit, modulePath: 'lilypad_module.json.tmpl',
    specHash: loaded.specHash, inputs: '{}', image: '', inputsCid: '', urlPins: '',
    cpu: 1000, gpu: 1, gpuVramMb: capacity.gpuVramMb, ramMb: 1000, diskMb: 0,
    maxPrice: '0', maxSolverFee: '0', paymentCollateral: '0', timeoutCollateral: '0',
    trustedMediators: [], quorum: 1, trustedSolvers: [],
    matchDeadline: Date.now() + 600_000, agreeWithin: 10_000, submitWithin: 300_000, judgeWithin: 300_000, mediateWithin: 300_000
  }
  const signal = new AbortController().signal

  const cpuStore = await ResultsStore.open(join(work, 'cpu-node'))
  const cpuOnly = new ModuleRunner({ dataDir: join(work, 'cpu-node') }, { executors: { docker: new DockerExecutor({ slot: { ...slot, gpus: 0 } }) }, results: cpuStore })
  const refused = await cpuOnly.prepare(offer, { maxDurationMs: 300_000 }, signal).then(() => undefined, (err: { code?: string }) => err.code)
  await cpuStore.close()
  if (refused !== 'ERR_GPU_UNAVAILABLE') fail(`a node without GPUs should refuse the module before signing (ERR_GPU_UNAVAILABLE), not ${refused ?? 'accept it'}`)
  console.log('cpu-only node: refuses the module before signing (ERR_GPU_UNAVAILABLE)')

  const gpuExecutor = new DockerExecutor({ slot })
  const limits = gpuExecutor.limits(dockerJobFromModule(loaded.spec.job, { jobId: 'gpu-check', resultsDir: work }))
  console.log(`executor: asks Docker for ${limits.gpus} NVIDIA GPU(s), ${limits.cpuMilli} milli-CPU, ${limits.memoryBytes / MiB} MiB memory, ${limits.outputsBytes / MiB} MiB of outputs, network ${limits.network ? 'on' : 'off'}`)
  const dataDir = join(work, 'gpu-node')
  const store = await ResultsStore.open(dataDir)
  const runner = new ModuleRunner({ dataDir }, { executors: { docker: gpuExecutor }, results: store })
  await runner.prepare(offer, { maxDurationMs: 300_000 }, signal)
  const run = await runner.run(offer, 'run:gpu-check', signal).finally(() => store.close())
  const resultsDir = join(dataDir, 'results')
  const [folder] = (await readdir(resultsDir)).filter(name => !name.startsWith('.'))
  const dir = join(resultsDir, folder ?? '')
  const stdout = await readFile(join(dir, 'stdout'), 'utf8').catch(() => '')
  const stderr = await readFile(join(dir, 'stderr'), 'utf8').catch(() => '')
  console.log('--- container stdout ---')
  process.stdout.write(stdout)
  if (stderr !== '') { console.log('--- container stderr ---'); process.stdout.write(stderr) }
  console.log('--- recorded ---')
  console.log(JSON.stringify(run, null, 2))
  if (run.failure !== undefined || run.exitCode !== 0) fail(`the CUDA module did not run: exit ${run.exitCode}${run.failure === undefined ? '' : `, ${run.failure}`}`)
  const gpus = (await readFile(join(dir, 'outputs', 'gpus.txt'), 'utf8')).trim().split('\n').filter(l => l.startsWith('GPU '))
  if (gpus.length !== 1) fail(`the container saw ${gpus.length} GPU(s), not the 1 it asked for`)
  console.log(`gpu-check: ok, the container saw ${gpus[0]}`)
}

const work = await mkdtemp(join(tmpdir(), 'lilypad-gpu-check-'))
try {
  await check(process.argv[2] ?? '', work)
} catch (err) {
  process.stderr.write(`gpu-check: ${err instanceof CheckFailed ? err.message : String((err as Error).stack ?? err)}\n`)
  process.exitCode = 1
} finally {
  await rm(work, { recursive: true, force: true })
}
