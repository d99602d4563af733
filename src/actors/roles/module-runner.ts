import { createHash } from 'node:crypto'
import { join } from 'node:path'
import type { JobOffer } from '../../protocols/messages/schemas.ts'
import { loadModule } from '../../executor/modules/load.ts'
import type { ModuleMirrors } from '../../executor/modules/mirrors.ts'
import { runModuleJob, type Executors } from '../../executor/results/determinism.ts'
import type { ResultsStore } from '../../executor/results/store.ts'
import type { JobRun, JobRunner } from './effects/jobs.ts'

export interface ModuleRunnerOptions {
  dataDir: string
  mirrors?: ModuleMirrors
  /** a test-network fault: the provider changes its outputs before computing their CID */
  corruptOutputs?: boolean
}

export interface ModuleRunnerModules {
  executors: Executors
  results: ResultsStore
}

export class SpecMismatchError extends Error {
  override readonly name = 'SpecMismatchError'
  readonly code = 'ERR_SPEC_MISMATCH'
}

/** A folder name for a run id (`run:0xabc…`), stable across restarts. */
function runFolder (runId: string): string {
  const safe = runId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 80)
  return `${safe}-${createHash('sha256').update(runId).digest('hex').slice(0, 8)}`
}

/**
 * Runs a job offer's module: fetches the module at the offer's commit, renders it with the offer's
 * inputs, checks the rendered spec against the offer's hash (so every party runs the same thing),
 * runs it, and adds its results folder to the node's blockstore.
 */
export class ModuleRunner implements JobRunner {
  constructor (private readonly options: ModuleRunnerOptions, private readonly modules: ModuleRunnerModules) {}

  async run (job: JobOffer, runId: string, signal: AbortSignal): Promise<JobRun> {
    const inputs = JSON.parse(job.inputs === '' ? '{}' : job.inputs) as Record<string, string>
    const module = await loadModule({
      ref: `${job.moduleRepo}:${job.moduleCommit}`,
      inputs,
      templatePath: job.modulePath === '' ? undefined : job.modulePath,
      cacheDir: join(this.options.dataDir, 'modules'),
      mirrors: this.options.mirrors,
      signal
    })
    if (module.specHash.toLowerCase() !== job.specHash.toLowerCase()) {
      throw new SpecMismatchError(`module ${job.moduleRepo}@${job.moduleCommit} renders to spec ${module.specHash}, the offer says ${job.specHash}`)
    }
    const folder = runFolder(runId)
    const resultsDir = join(this.options.dataDir, 'results', folder)
    const result = await runModuleJob(module, { jobId: folder, resultsDir }, this.modules.executors, signal)
    if (this.options.corruptOutputs === true) {
      const { writeFile } = await import('node:fs/promises')
      await writeFile(join(resultsDir, 'outputs', 'tampered'), `${runId}\n`)
    }
    const cid = await this.modules.results.add(resultsDir)
    return { resultsCid: cid.toString(), exitCode: result.exitCode, durationMs: Math.round(result.durationMs), cpuMs: 0 }
  }
}
