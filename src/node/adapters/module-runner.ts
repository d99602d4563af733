import { createHash } from 'node:crypto'
import { mkdir, readdir, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { JobOffer } from '../../protocols/messages/schemas.ts'
import { dockerJobFromModule, jobTimeoutMs } from '../../executor/docker/from-module.ts'
import { parseImageRef, pinnedImage, registryOf } from '../../executor/docker/image-ref.ts'
import { release } from '../../executor/docker/outputs-fs.ts'
import { loadModule, type LoadedModule } from '../../executor/modules/load.ts'
import type { ModuleMirrors } from '../../executor/modules/mirrors.ts'
import { runModuleJob, type Executors } from '../../executor/results/determinism.ts'
import { ExecutionError, type ExecutionResult } from '../../executor/results/execution.ts'
import { FAILED_RUN_EXIT_CODE, failureCode, RunFailure, writeFailedRun } from '../../executor/results/failed-run.ts'
import type { ResultsStore } from '../../executor/results/store.ts'
import type { JobRun, JobRunner } from '../../actors/roles/effects/jobs.ts'
import { bringInputs, jobInputs, type InputsSource } from './job-inputs.ts'
import { WarmRuns, type RunsAheadCounts } from './warm-runs.ts'

export interface ModuleRunnerOptions {
  dataDir: string
  mirrors?: ModuleMirrors
  /** a test-network fault: the provider changes its outputs before computing their CID */
  corruptOutputs?: boolean
  /** the registries it pulls images from (`docker.io`, `127.0.0.1:5000`); empty or absent: any */
  registries?: string[]
  /** start a proposal's job ahead of its deal (default true) */
  warmRuns?: boolean
}

export interface ModuleRunnerModules {
  executors: Executors
  results: ResultsStore
  /** how input data is fetched; without it, a job with inputs cannot run here */
  inputs?: InputsSource
}

export class SpecMismatchError extends Error {
  override readonly name = 'SpecMismatchError'
  readonly code = 'ERR_SPEC_MISMATCH'
}

/** the folder names of runs started ahead of their deals (`warm:<proposal id>`) */
const WARM_FOLDER = 'warm-'

/** loaded modules kept for the run after the checks: more than the deals a node signs at once */
const LOADED_MODULES = 16

/** What of a job offer its run depends on: two offers alike in these run alike. */
function runKey (job: JobOffer): string {
  return JSON.stringify([job.moduleRepo, job.moduleCommit, job.modulePath, job.inputs, job.specHash, job.image, job.inputsCid, job.urlPins])
}

/** A folder name for a run id (`run:0xabc…`), stable across restarts. */
function runFolder (runId: string): string {
  const safe = runId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 80)
  return `${safe}-${createHash('sha256').update(runId).digest('hex').slice(0, 8)}`
}

/**
 * Runs a job offer's module: fetches the module at the offer's commit, renders it with the offer's
 * inputs, checks the rendered spec against the offer's hash (so every party runs the same thing),
 * runs it, and adds its results folder to the node's blockstore. A run that cannot happen for a
 * reason of the job's own gives the canonical failed-run results instead (see failed-run.ts).
 */
export class ModuleRunner implements JobRunner {
  /**
   * Modules loaded for the checks before co-signing, by what the offer names of them: the run that
   * follows moments later takes the same one instead of reading and rendering it again (about 50 ms
   * on the way from agreement to the container's start). A few at most: one per deal being signed.
   */
  private readonly loaded = new Map<string, Promise<LoadedModule>>()
  /** runs started on a proposal, which the deal's run takes over */
  private readonly warmRuns = new WarmRuns()

  constructor (private readonly options: ModuleRunnerOptions, private readonly modules: ModuleRunnerModules) {}

  /** How the runs started ahead of their deals ended, since the node started (the node's /metrics). */
  get runsAhead (): RunsAheadCounts {
    return { ...this.warmRuns.counts }
  }

  /**
   * Starts the job of a proposal ahead of its deal (see warm-runs.ts). Not a job with input data:
   * its creator serves that once the deal is signed.
   */
  warm (job: JobOffer, warmId: string, until: number): void {
    if (this.options.warmRuns === false || job.inputsCid !== '' || job.urlPins !== '') return
    const resultsDir = this.resultsDir(warmId)
    this.warmRuns.start(runKey(job), job.author, until, resultsDir, async (signal) => {
      const module = await this.load(job, signal)
      if (jobInputs(job, module.spec.job).length > 0) throw new Error('a job with input data runs once its deal is signed')
      return await runModuleJob(module, { jobId: runFolder(warmId), resultsDir }, this.modules.executors, signal)
    })
  }

  /**
   * Removes what runs started ahead of their deals left when the node last stopped without
   * stopping them (killed): their containers, outputs filesystems and folders, and what the
   * executor left (see DockerExecutor.sweep). Before any starts; then makes an outputs filesystem
   * ready for the first job.
   */
  async sweep (): Promise<void> {
    const root = join(this.options.dataDir, 'results')
    const folders = new Set<string>()
    for (const dir of [root, join(root, '.outputs-fs')]) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (name.startsWith(WARM_FOLDER)) folders.add(name.replace(/\.img$/, ''))
      }
    }
    for (const folder of folders) {
      await this.modules.executors.docker?.remove(folder).catch(() => undefined)
      await release(join(root, folder)).catch(() => undefined)
      await rm(join(root, folder), { recursive: true, force: true })
    }
    await this.modules.executors.docker?.sweep(root)
    this.modules.executors.docker?.prepareOutputs(root)
  }

  /** Stops the runs started ahead of their deals; resolves once what they left is gone. */
  async stop (): Promise<void> {
    await this.warmRuns.stop()
    await this.modules.executors.docker?.close()
  }

  async run (job: JobOffer, runId: string, signal: AbortSignal, purpose?: string): Promise<JobRun> {
    // a deal of the creator's, co-signed: it may leave one more run ahead unsigned
    if (purpose === 'execute') this.warmRuns.dealRun(job.author)
    try {
      return await this.execute(job, runId, signal)
    } catch (err) {
      if (signal.aborted) throw err
      return await this.failed(runId, err)
    }
  }

  async failed (runId: string, err: unknown): Promise<JobRun> {
    const failure = failureCode(err)
    const dir = await writeFailedRun(this.resultsDir(runId), failure)
    const cid = await this.modules.results.add(dir)
    return { resultsCid: cid.toString(), exitCode: FAILED_RUN_EXIT_CODE, durationMs: 0, cpuMs: 0, failure }
  }

  async prepare (job: JobOffer, limits: { maxDurationMs: number }, signal: AbortSignal): Promise<void> {
    try {
      const module = await this.load(job, signal)
      const timeoutMs = jobTimeoutMs(module.spec.job)
      if (timeoutMs > limits.maxDurationMs) {
        throw new RunFailure('ERR_TIMEOUT_TOO_LONG',
          `module ${moduleName(job)} may run for ${seconds(timeoutMs)} (its timeout), longer than the ${seconds(Math.max(0, limits.maxDurationMs))} the deal leaves for the run`)
      }
      // a challenge no mediator can re-run in time ends TimeoutMediate: the creator keeps the results unpaid
      if (timeoutMs > job.mediateWithin) {
        throw new RunFailure('ERR_MEDIATION_TOO_SHORT',
          `module ${moduleName(job)} may run for ${seconds(timeoutMs)} (its timeout), longer than the ${seconds(job.mediateWithin)} a mediator would have to re-run it`)
      }
      await this.checkEngine(job, module, signal)
      // the inputs must be there to be had before we sign: fetched now, kept in the blockstore for the run
      const inputs = await bringInputs(jobInputs(job, module.spec.job), this.modules.inputs, { from: job.author, runId: `prepare:${job.author}:${job.nonce}`, signal })
      await inputs.release()
    } catch (err) {
      if (signal.aborted || err instanceof RunFailure) throw err
      throw new RunFailure(failureCode(err), err instanceof Error ? err.message : String(err), { cause: err })
    }
  }

  private async execute (job: JobOffer, runId: string, signal: AbortSignal): Promise<JobRun> {
    const resultsDir = this.resultsDir(runId)
    const result = await this.takeWarm(job, resultsDir, signal) ?? await this.runNow(job, runId, resultsDir, signal)
    if (this.options.corruptOutputs === true) {
      const { writeFile } = await import('node:fs/promises')
      await writeFile(join(resultsDir, 'outputs', 'tampered'), `${runId}\n`)
    }
    const cid = await this.modules.results.add(resultsDir)
    return { resultsCid: cid.toString(), exitCode: result.exitCode, durationMs: Math.round(result.durationMs), cpuMs: 0 }
  }

  private async runNow (job: JobOffer, runId: string, resultsDir: string, signal: AbortSignal): Promise<ExecutionResult> {
    const module = await this.load(job, signal)
    const inputs = await bringInputs(jobInputs(job, module.spec.job), this.modules.inputs, { from: job.author, runId, signal })
    return await runModuleJob(module, { jobId: runFolder(runId), resultsDir, inputs: inputs.mounts }, this.modules.executors, signal)
      .finally(inputs.release)
  }

  /** The run of this job started ahead of its deal, moved to `resultsDir`; undefined when there is none. */
  private async takeWarm (job: JobOffer, resultsDir: string, signal: AbortSignal): Promise<ExecutionResult | undefined> {
    const warm = await this.warmRuns.take(runKey(job), signal)
    if (warm === undefined) {
      void this.warmRuns.stop()
      return undefined
    }
    try {
      await rm(resultsDir, { recursive: true, force: true })
      await mkdir(dirname(resultsDir), { recursive: true })
      await rename(warm.dir, resultsDir)
      return warm.result
    } catch {
      await rm(warm.dir, { recursive: true, force: true }).catch(() => undefined)
      return undefined
    }
  }

  /** The module at the offer's commit, rendered with its inputs, its spec hash checked against the offer's. */
  private async load (job: JobOffer, signal: AbortSignal): Promise<LoadedModule> {
    const key = runKey(job)
    const known = this.loaded.get(key)
    if (known !== undefined) {
      const module = await known.catch(() => undefined)
      if (module !== undefined) return module
    }
    const loading = this.loadNow(job, signal)
    this.loaded.delete(key)
    this.loaded.set(key, loading)
    for (const old of this.loaded.keys()) {
      if (this.loaded.size <= LOADED_MODULES) break
      this.loaded.delete(old)
    }
    loading.catch(() => { if (this.loaded.get(key) === loading) this.loaded.delete(key) })
    return await loading
  }

  private async loadNow (job: JobOffer, signal: AbortSignal): Promise<LoadedModule> {
    const module = await loadModule({
      ref: `${job.moduleRepo}:${job.moduleCommit}`,
      inputs: parseInputs(job.inputs),
      templatePath: job.modulePath === '' ? undefined : job.modulePath,
      cacheDir: join(this.options.dataDir, 'modules'),
      mirrors: this.options.mirrors,
      signal
    })
    if (module.specHash.toLowerCase() !== job.specHash.toLowerCase()) {
      throw new SpecMismatchError(`module ${moduleName(job)} renders to spec ${module.specHash}, the offer says ${job.specHash}`)
    }
    return withOfferedImage(job, module)
  }

  /**
   * The module's engine is here; a Docker module's GPUs, network and disk quota are ones this node
   * gives jobs, and its image is pinned and present or pullable.
   */
  private async checkEngine (job: JobOffer, module: LoadedModule, signal: AbortSignal): Promise<void> {
    const engine = module.spec.job.engine
    const { docker, wasm } = this.modules.executors
    if (engine.type === 'docker') {
      if (docker === undefined) throw new ExecutionError('DOCKER_UNAVAILABLE', `module ${moduleName(job)} needs Docker, and this node has no Docker engine`)
      const { name } = parseImageRef(engine.image)
      const allowed = this.options.registries ?? []
      if (name !== '' && allowed.length > 0 && !allowed.includes(registryOf(name))) {
        throw new RunFailure('ERR_IMAGE_UNAVAILABLE', `image ${engine.image} comes from ${registryOf(name)}, and this provider pulls only from ${allowed.join(', ')}`)
      }
      docker.limits(dockerJobFromModule(module.spec.job, { jobId: moduleName(job), resultsDir: this.options.dataDir, machine: module.spec.machine }))
      await docker.ensureImage(engine.image, signal)
    } else if (engine.type === 'wasm') {
      if (wasm === undefined) throw new ExecutionError('WASM_UNAVAILABLE', `module ${moduleName(job)} needs the WASM executor, and this node has none`)
    } else {
      throw new ExecutionError('BAD_JOB_SPEC', `module ${moduleName(job)}: engine ${JSON.stringify(engine.name)} is not supported (Docker or Wasm)`)
    }
  }

  private resultsDir (runId: string): string {
    return join(this.options.dataDir, 'results', runFolder(runId))
  }
}

/** The module as the offer runs it: a Docker image its spec names by tag replaced by the offer's pin of it. */
function withOfferedImage (job: JobOffer, module: LoadedModule): LoadedModule {
  const engine = module.spec.job.engine
  if (engine.type !== 'docker') return module
  const pinned = pinnedImage(engine.image, job.image)
  if ('refused' in pinned) throw new ExecutionError('IMAGE_NOT_PINNED', `module ${moduleName(job)}: ${pinned.refused}`)
  if (pinned.image === engine.image) return module
  return { ...module, spec: { ...module.spec, job: { ...module.spec.job, engine: { ...engine, image: pinned.image } } } }
}

function parseInputs (text: string): Record<string, string> {
  let inputs: unknown
  try {
    inputs = JSON.parse(text === '' ? '{}' : text)
  } catch (err) {
    throw new RunFailure('ERR_BAD_INPUTS', `the offer's inputs are not JSON: ${(err as Error).message}`)
  }
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
    throw new RunFailure('ERR_BAD_INPUTS', 'the offer\'s inputs are not a JSON object of name → value')
  }
  return inputs as Record<string, string>
}

function moduleName (job: JobOffer): string {
  return `${job.moduleRepo}@${job.moduleCommit}`
}

function seconds (ms: number): string {
  return `${Math.round(ms / 100) / 10} s`
}
