import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { DockerExecutor } from '../docker/executor.ts'
import type { DockerInput } from '../docker/job.ts'
import { dockerJobFromModule } from '../docker/from-module.ts'
import type { LoadedModule } from '../modules/load.ts'
import type { WasmExecutor } from '../wasm/executor.ts'
import { wasmJobFromModule } from '../wasm/from-module.ts'
import { cidOfPath } from './cid.ts'
import { ExecutionError, type ExecutionResult } from './execution.ts'

export interface Executors {
  docker?: DockerExecutor
  wasm?: WasmExecutor
}

/** Runs a loaded module's job once with whichever executor its engine needs. */
export async function runModuleJob (module: LoadedModule, target: { jobId: string, resultsDir: string, inputs?: DockerInput[] }, executors: Executors, signal?: AbortSignal): Promise<ExecutionResult> {
  const engine = module.spec.job.engine
  if (engine.type !== 'docker' && (target.inputs?.length ?? 0) > 0) throw new ExecutionError('BAD_JOB_SPEC', `module ${module.ref}: input data is mounted for Docker jobs only`)
  if (engine.type === 'docker') {
    if (executors.docker === undefined) throw new ExecutionError('DOCKER_UNAVAILABLE', 'this module needs Docker, and no Docker executor is configured')
    return executors.docker.run(dockerJobFromModule(module.spec.job, { ...target, machine: module.spec.machine }), signal)
  }
  if (engine.type === 'wasm') {
    if (executors.wasm === undefined) throw new ExecutionError('WASM_UNAVAILABLE', 'this module needs the WASM executor, and none is configured')
    const local = isDirectory(module.fetchedFrom) ? [module.fetchedFrom] : []
    return executors.wasm.run(await wasmJobFromModule(module.spec.job, target, { searchDirs: local }), signal)
  }
  throw new ExecutionError('BAD_JOB_SPEC', `module ${module.ref}: engine ${JSON.stringify(engine.name)} is not supported (Docker or Wasm)`)
}

export interface DeterminismRun {
  cid: string
  exitCode: number
  timedOut: boolean
  resultsDir: string
}

export interface DeterminismReport {
  runs: DeterminismRun[]
  /** every run produced the same results CID */
  stable: boolean
}

/** Runs a module `runs` times from scratch and compares the CIDs of its results. */
export async function checkDeterminism (module: LoadedModule, options: { runs: number, workDir: string, executors: Executors, signal?: AbortSignal }): Promise<DeterminismReport> {
  const runs: DeterminismRun[] = []
  const base = `check-${module.specHash.slice(2, 14)}-${Date.now().toString(36)}`
  for (let i = 0; i < options.runs; i++) {
    const target = { jobId: `${base}-${i + 1}`, resultsDir: join(options.workDir, `run-${i + 1}`) }
    const result = await runModuleJob(module, target, options.executors, options.signal)
    runs.push({ cid: (await cidOfPath(target.resultsDir)).toString(), exitCode: result.exitCode, timedOut: result.timedOut, resultsDir: target.resultsDir })
  }
  return { runs, stable: runs.every(r => r.cid === runs[0]?.cid) }
}

function isDirectory (path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory()
}
