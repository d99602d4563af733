import type { JobSpec } from '../modules/model.ts'
import { ExecutionError } from '../results/execution.ts'
import { jobTimeoutMs } from '../docker/from-module.ts'
import { resolveEntryModule, type ResolveEntryModuleOptions } from './entry-module.ts'
import type { WasmJob } from './job.ts'

/** The WASI job for a module's Bacalhau Wasm spec, its entry module found and checked by CID. */
export async function wasmJobFromModule (job: JobSpec, target: { jobId: string, resultsDir: string }, find: ResolveEntryModuleOptions = {}): Promise<WasmJob> {
  const engine = job.engine
  if (engine.type !== 'wasm') throw new ExecutionError('BAD_JOB_SPEC', `job ${target.jobId} is not a WASM job`)
  if (engine.entryModule === null) throw new ExecutionError('BAD_JOB_SPEC', `job ${target.jobId} names no WASM entry module`)
  const m = engine.entryModule
  const wasm = await resolveEntryModule({ StorageSource: m.storageSource, CID: m.cid, URL: m.url, Path: m.path }, find)
  return {
    jobId: target.jobId,
    resultsDir: target.resultsDir,
    wasm,
    entryPoint: engine.entryPoint || undefined,
    programName: engine.entryModule.path || 'main.wasm',
    args: engine.parameters,
    env: engine.environmentVariables,
    timeoutMs: jobTimeoutMs(job),
    maxMemoryBytes: job.resources.memoryBytes ?? undefined
  }
}
