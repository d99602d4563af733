// The module model: the rendered `{ machine, job }` JSON, read the way Lilypad's Go structs read it
// (keys matched case-insensitively, the last match winning; integers where Go has int fields), with
// typed views for the executors and every field of the original kept in `raw`.
import { createHash } from 'node:crypto'
import { ModuleError } from './errors.ts'

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
type JsonObject = { [k: string]: Json }

export interface GpuSpec { name: string, vendor: string, vram: number }

/** Minimum requirements: milli-GPUs and GPU count as Lilypad counts them, milli-CPU, megabytes. */
export interface MachineSpec {
  gpu: number
  gpus: GpuSpec[]
  cpu: number
  ram: number
  disk: number
}

export interface StorageSpec {
  storageSource: string
  name: string
  cid: string
  url: string
  path: string
  raw: JsonObject
}

export interface DockerEngine {
  type: 'docker'
  image: string
  entrypoint: string[]
  parameters: string[]
  environmentVariables: string[]
  workingDirectory: string
}

export interface WasmEngine {
  type: 'wasm'
  entryModule: StorageSpec | null
  entryPoint: string
  parameters: string[]
  environmentVariables: Record<string, string>
  importModules: StorageSpec[]
}

export interface UnknownEngine { type: 'unknown', name: string }

export interface JobResources {
  /** Milli-CPU, or null when the spec gives none. */
  cpuMillis: number | null
  memoryBytes: number | null
  diskBytes: number | null
  gpu: number | null
  raw: JsonObject
}

export interface JobSpec {
  apiVersion: string
  engine: DockerEngine | WasmEngine | UnknownEngine
  resources: JobResources
  network: { type: string, domains: string[] }
  /**
   * Seconds, at most MAX_JOB_TIMEOUT_SECONDS; 0 when the spec gives none (or a negative one, which
   * Bacalhau reads as none). Compare it, not the spec's own number, with a slot's bound.
   */
  timeout: number
  /** The spec asked for more than MAX_JOB_TIMEOUT_SECONDS and `timeout` was clamped to it. */
  timeoutClamped: boolean
  inputs: StorageSpec[]
  outputs: StorageSpec[]
  /** The whole `job` object as rendered, unknown fields included. */
  raw: JsonObject
}

export interface ModuleSpec {
  machine: MachineSpec
  job: JobSpec
  /** The whole rendered module as parsed. */
  raw: JsonObject
}

/**
 * The longest a module's job may ask to run: one week. A spec asking for more gets this, so every
 * timer built from it stays below setTimeout's 2^31-1 ms (about 24.8 days) and a caller comparing
 * it with a slot's bound sees a finite number of seconds.
 */
export const MAX_JOB_TIMEOUT_SECONDS = 7 * 24 * 3600
export const MAX_JOB_TIMEOUT_MS = MAX_JOB_TIMEOUT_SECONDS * 1000

/** A spec's `Timeout` (seconds, Go's int64) as a bounded number of seconds; 0 for none. */
export function clampTimeout (seconds: number): { timeout: number, clamped: boolean } {
  if (!(seconds > 0)) return { timeout: 0, clamped: false }
  if (seconds > MAX_JOB_TIMEOUT_SECONDS) return { timeout: MAX_JOB_TIMEOUT_SECONDS, clamped: true }
  return { timeout: seconds, clamped: false }
}

function isObject (v: Json | undefined): v is JsonObject {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v)
}

/** Go's encoding/json field matching: exact or case-insensitive, and the last match in the document wins. */
export function field (obj: JsonObject | null | undefined, name: string): Json | undefined {
  if (!obj) return undefined
  const lower = name.toLowerCase()
  let found: Json | undefined
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) found = v
  return found
}

function jsonKind (v: Json): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'object') return 'object'
  return typeof v
}

function typeError (v: Json, path: string, goType: string): ModuleError {
  const what = typeof v === 'number' ? `number ${v}` : jsonKind(v)
  return new ModuleError('MODULE_SPEC_INVALID', `json: cannot unmarshal ${what} into Go struct field Module.${path} of type ${goType}`)
}

function goInt (v: Json | undefined, path: string): number {
  if (v === undefined || v === null) return 0
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(v, path, 'int')
  return v
}

function goString (v: Json | undefined, path: string): string {
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string') throw typeError(v, path, 'string')
  return v
}

function goStrings (v: Json | undefined, path: string): string[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw typeError(v, path, '[]string')
  return v.map(x => goString(x, path))
}

function goObject (v: Json | undefined, path: string, goType: string): JsonObject {
  if (v === undefined || v === null) return {}
  if (!isObject(v)) throw typeError(v, path, goType)
  return v
}

function parseMachine (v: Json | undefined): MachineSpec {
  const m = goObject(v, 'machine', 'data.MachineSpec')
  const gpusJson = field(m, 'gpus')
  let gpus: GpuSpec[] = []
  if (gpusJson !== undefined && gpusJson !== null) {
    if (!Array.isArray(gpusJson)) throw typeError(gpusJson, 'machine.gpus', '[]data.GPUSpec')
    gpus = gpusJson.map(g => {
      const o = goObject(g, 'machine.gpus', 'data.GPUSpec')
      return { name: goString(field(o, 'name'), 'machine.gpus.name'), vendor: goString(field(o, 'vendor'), 'machine.gpus.vendor'), vram: goInt(field(o, 'vram'), 'machine.gpus.vram') }
    })
  }
  return {
    gpu: goInt(field(m, 'gpu'), 'machine.gpu'),
    gpus,
    cpu: goInt(field(m, 'cpu'), 'machine.cpu'),
    ram: goInt(field(m, 'ram'), 'machine.ram'),
    disk: goInt(field(m, 'disk'), 'machine.disk')
  }
}

function parseStorage (v: Json, path: string): StorageSpec {
  const o = goObject(v, path, 'model.StorageSpec')
  return {
    storageSource: goString(field(o, 'StorageSource'), `${path}.StorageSource`),
    name: goString(field(o, 'Name'), `${path}.Name`),
    cid: goString(field(o, 'CID'), `${path}.CID`),
    url: goString(field(o, 'URL'), `${path}.URL`),
    path: goString(field(o, 'path'), `${path}.path`),
    raw: o
  }
}

function parseStorageList (v: Json | undefined, path: string): StorageSpec[] {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v)) throw typeError(v, path, '[]model.StorageSpec')
  return v.map(s => parseStorage(s, path))
}

/** "1", "0.5", "500m" → milli-CPU. */
export function parseCpuMillis (s: string): number | null {
  const t = s.trim()
  if (t === '') return null
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(t)
  if (!m) return null
  const n = Number(m[1])
  return m[2] === 'm' ? Math.round(n) : Math.round(n * 1000)
}

const byteUnits: Record<string, number> = {
  '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12,
  ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3, ti: 1024 ** 4, tib: 1024 ** 4
}

/** "2Gb", "40000MB", "1GiB" → bytes (units as Bacalhau reads them: case-insensitive, SI unless "i"). */
export function parseBytes (s: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(s)
  if (!m) return null
  const unit = byteUnits[m[2]!.toLowerCase()]
  return unit === undefined ? null : Math.round(Number(m[1]) * unit)
}

function parseResources (v: Json | undefined): JobResources {
  const o = goObject(v, 'job.Spec.Resources', 'model.ResourceConfig')
  const cpu = goString(field(o, 'CPU'), 'job.Spec.Resources.CPU')
  const mem = goString(field(o, 'Memory'), 'job.Spec.Resources.Memory')
  const disk = goString(field(o, 'Disk'), 'job.Spec.Resources.Disk')
  const gpu = goString(field(o, 'GPU'), 'job.Spec.Resources.GPU')
  return {
    cpuMillis: parseCpuMillis(cpu),
    memoryBytes: mem === '' ? null : parseBytes(mem),
    diskBytes: disk === '' ? null : parseBytes(disk),
    gpu: gpu.trim() === '' || !/^\d+$/.test(gpu.trim()) ? null : Number(gpu.trim()),
    raw: o
  }
}

function dockerFrom (o: JsonObject, path: string): DockerEngine {
  return {
    type: 'docker',
    image: goString(field(o, 'Image'), `${path}.Image`),
    entrypoint: goStrings(field(o, 'Entrypoint'), `${path}.Entrypoint`),
    parameters: goStrings(field(o, 'Parameters'), `${path}.Parameters`),
    environmentVariables: goStrings(field(o, 'EnvironmentVariables'), `${path}.EnvironmentVariables`),
    workingDirectory: goString(field(o, 'WorkingDirectory'), `${path}.WorkingDirectory`)
  }
}

function wasmFrom (o: JsonObject, path: string): WasmEngine {
  const entry = field(o, 'EntryModule')
  const entryModule = isObject(entry) && Object.keys(entry).length > 0 ? parseStorage(entry, `${path}.EntryModule`) : null
  const envJson = field(o, 'EnvironmentVariables')
  const env: Record<string, string> = {}
  if (isObject(envJson)) for (const [k, v] of Object.entries(envJson)) env[k] = goString(v, `${path}.EnvironmentVariables`)
  else if (Array.isArray(envJson)) {
    for (const kv of goStrings(envJson, `${path}.EnvironmentVariables`)) {
      const eq = kv.indexOf('=')
      if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1)
    }
  }
  return {
    type: 'wasm',
    entryModule,
    entryPoint: goString(field(o, 'EntryPoint'), `${path}.EntryPoint`),
    parameters: goStrings(field(o, 'Parameters'), `${path}.Parameters`),
    environmentVariables: env,
    importModules: parseStorageList(field(o, 'ImportModules'), `${path}.ImportModules`)
  }
}

function parseEngine (spec: JsonObject): JobSpec['engine'] {
  const engineSpec = field(spec, 'EngineSpec')
  if (isObject(engineSpec) && typeof field(engineSpec, 'Type') === 'string') {
    const type = (field(engineSpec, 'Type') as string).toLowerCase()
    const params = goObject(field(engineSpec, 'Params'), 'job.Spec.EngineSpec.Params', 'map[string]interface{}')
    if (type === 'docker') return dockerFrom(params, 'job.Spec.EngineSpec.Params')
    if (type === 'wasm') return wasmFrom(params, 'job.Spec.EngineSpec.Params')
    return { type: 'unknown', name: type }
  }
  const docker = goObject(field(spec, 'Docker'), 'job.Spec.Docker', 'model.JobSpecDocker')
  const wasm = goObject(field(spec, 'Wasm'), 'job.Spec.Wasm', 'model.JobSpecWasm')
  const engine = goString(field(spec, 'Engine'), 'job.Spec.Engine').toLowerCase()
  if (engine === 'docker') return dockerFrom(docker, 'job.Spec.Docker')
  if (engine === 'wasm') return wasmFrom(wasm, 'job.Spec.Wasm')
  if (engine !== '') return { type: 'unknown', name: engine }
  if (typeof field(docker, 'Image') === 'string' && field(docker, 'Image') !== '') return dockerFrom(docker, 'job.Spec.Docker')
  const w = wasmFrom(wasm, 'job.Spec.Wasm')
  if (w.entryModule !== null) return w
  return { type: 'unknown', name: '' }
}

function parseJob (v: Json | undefined): JobSpec {
  const job = goObject(v, 'job', 'bacalhau.Job')
  const spec = goObject(field(job, 'Spec'), 'job.Spec', 'bacalhau.Spec')
  const network = goObject(field(spec, 'Network'), 'job.Spec.Network', 'model.NetworkConfig')
  const timeout = field(spec, 'Timeout')
  if (timeout !== undefined && timeout !== null && (typeof timeout !== 'number' || !Number.isInteger(timeout))) throw typeError(timeout, 'job.Spec.Timeout', 'int64')
  const { timeout: seconds, clamped } = clampTimeout(typeof timeout === 'number' ? timeout : 0)
  return {
    apiVersion: goString(field(job, 'APIVersion'), 'job.APIVersion'),
    engine: parseEngine(spec),
    resources: parseResources(field(spec, 'Resources')),
    network: {
      type: goString(field(network, 'Type'), 'job.Spec.Network.Type') || 'None',
      domains: goStrings(field(network, 'Domains'), 'job.Spec.Network.Domains')
    },
    timeout: seconds,
    timeoutClamped: clamped,
    inputs: parseStorageList(field(spec, 'Inputs'), 'job.Spec.inputs'),
    outputs: parseStorageList(field(spec, 'Outputs'), 'job.Spec.outputs'),
    raw: job
  }
}

/** Reads a rendered module; throws a ModuleError (MODULE_SPEC_INVALID) where Go's decoding would fail. */
export function parseModuleSpec (rendered: string | Json): ModuleSpec {
  const value: Json = typeof rendered === 'string' ? JSON.parse(rendered) as Json : rendered
  if (value !== null && !isObject(value)) {
    throw new ModuleError('MODULE_SPEC_INVALID', `json: cannot unmarshal ${jsonKind(value)} into Go value of type data.Module`)
  }
  const raw = value ?? {}
  return { machine: parseMachine(field(raw, 'machine')), job: parseJob(field(raw, 'job')), raw }
}

/** JSON with object keys sorted by code point and no whitespace: the same bytes for the same spec. */
export function canonicalJson (v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v)
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  const keys = Object.keys(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${keys.map(k => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`
}

/** 0x-prefixed sha256 of the canonical JSON of the rendered module: what a job offer pins. */
export function specHash (raw: unknown): string {
  return '0x' + createHash('sha256').update(canonicalJson(raw)).digest('hex')
}
