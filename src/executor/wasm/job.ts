/** One WASI job, in the executor's terms. */
export interface WasmJob {
  /** stable id (the deal id) */
  jobId: string
  /** the module's bytes (see `resolveEntryModule` for getting them from a spec) */
  wasm: Uint8Array
  /** only `_start` (a WASI command) is supported */
  entryPoint?: string
  /** argv[0], the program name the module sees */
  programName?: string
  /** Bacalhau's `Parameters`: the arguments after the program name */
  args?: string[]
  env?: Record<string, string>
  timeoutMs: number
  /** the spec's memory (Resources.Memory): a lower cap on linear memory than the executor's own; zero or none: the executor's */
  maxMemoryBytes?: number
  /** the folder that receives stdout, stderr, exitCode and outputs/ */
  resultsDir: string
}
