import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { getAddress } from 'ethers'
import { ROLES, type Role } from '../actors/roles/roles.ts'
import { LIMITS } from '../protocols/messages/fields.ts'
import { DEFAULT_MEDIATION_CHANCE } from './jobs/check-rate.ts'
import { resolveLimits, type NodeLimits } from './limits.ts'
import { LOG_LEVELS, type LogFormat, type LogLevel } from './logger.ts'
import { loadPreset, type NetworkPreset } from './network-presets.ts'

/**
 * A node's settings: from flags, then the environment (Lilypad's names where one exists), then a
 * JSON config file, then defaults. Every setting has a name, a default and one place here.
 */
export interface NodeSettings {
  dataDir: string
  roles: Role[]
  network: string
  listen: string[]
  /** the addresses peers are told to reach this node at (default: those it listens on) */
  announce: string[]
  bootstrap: string[]
  /** relays (TCP multiaddrs with /p2p/<id>) to be reachable through, for a node peers cannot dial (behind a NAT) */
  relays: string[]
  /** serve as a relay for nodes behind a NAT, within the relay limits of `limits` */
  relayServer: boolean
  rpcUrl?: string
  settlementAddress?: string
  /** a job creator relays the jobs this jobs contract (LilypadJobs) is asked for: offers them and delivers their results */
  onchainJobs?: string
  /** the block its requests are read from: the network preset's deployment block, where the preset names this jobs contract */
  onchainJobsFromBlock?: number
  /** solvers and mediators this node trusts (its offers name them) */
  solvers: string[]
  mediators: string[]
  /**
   * wei: also trust mediators that announce themselves on the mesh and hold at least this stake on
   * chain (registered for a fee no higher than this node's MEDIATOR_FEE); absent: only `mediators`
   */
  mediatorMinStake?: string
  offer: {
    /** per slot; detected from the machine when absent */
    cpu?: number
    gpu?: number
    gpuVramMb?: number
    ramMb?: number
    diskMb?: number
    slots: number
    /** the longest submit window a slot takes, ms: what a job's timeout and margins may add up to */
    maxSubmitWithinMs: number
    price: string
    resultsCollateral: string
    timeoutCollateral: string
    modules: string[]
  }
  solverFee: string
  mediatorFee: string
  mediatorCapacity: number
  /** a mediator's stake, wei: deposited up to this, and the mediator registered for its fee; absent: not registered */
  mediatorStake?: string
  mirrors: Record<string, string>
  /** registries a provider pulls images from; empty: any */
  registries: string[]
  /** the largest image a provider pulls, bytes; absent: the executor's default */
  maxImageBytes?: number
  docker?: boolean
  /** honour a module's `Network` request; off: every job runs with no network */
  allowJobNetwork: boolean
  /** a provider starts a proposal's job before the deal is signed (off: only signed deals run) */
  runAhead: boolean
  apiPort?: number
  /** where the API listens (default 127.0.0.1); any other address needs the bearer token in <dataDir>/api-token */
  apiHost: string
  /** Host header names the API is reached by, beside the loopback names and apiHost (a proxy's, a DNS name) */
  apiHostNames: string[]
  /** serve the results this node holds over HTTP on this port (0: any free one); absent: not at all */
  resultsPort?: number
  resultsHost: string
  corruptOutputs: boolean
  /** bounds on what other peers can make the node hold (limits.ts) */
  limits: NodeLimits
  logLevel: LogLevel
  logFormat: LogFormat
}

export class SettingsError extends Error {
  override readonly name = 'SettingsError'
  readonly code = 'ERR_SETTINGS'
}

export type RawSettings = Partial<Record<keyof NodeSettings | 'offerCpu' | 'offerGpu' | 'offerRam' | 'offerDisk' | 'offerSlots' | 'offerMaxSubmitWithin' | 'price' | 'stake' | 'config' | 'modules', unknown>>

const ENV: Record<string, string> = {
  dataDir: 'DATA_DIR',
  roles: 'LILYPAD_ROLES',
  network: 'LILYPAD_NETWORK',
  listen: 'LILYPAD_LISTEN',
  announce: 'LILYPAD_ANNOUNCE',
  bootstrap: 'LILYPAD_BOOTSTRAP',
  relays: 'LILYPAD_RELAYS',
  relayServer: 'LILYPAD_RELAY_SERVER',
  rpcUrl: 'WEB3_RPC_URL',
  settlementAddress: 'WEB3_SETTLEMENT_ADDRESS',
  onchainJobs: 'LILYPAD_ONCHAIN_JOBS',
  solvers: 'SERVICE_SOLVER',
  mediators: 'SERVICE_MEDIATORS',
  mediatorMinStake: 'MEDIATOR_MIN_STAKE',
  offerCpu: 'OFFER_CPU',
  offerGpu: 'OFFER_GPU',
  offerRam: 'OFFER_RAM',
  offerDisk: 'OFFER_DISK',
  offerSlots: 'OFFER_SLOTS',
  offerMaxSubmitWithin: 'OFFER_MAX_SUBMIT_WITHIN',
  registries: 'LILYPAD_REGISTRIES',
  maxImageBytes: 'LILYPAD_MAX_IMAGE_BYTES',
  price: 'OFFER_PRICE',
  solverFee: 'SOLVER_FEE',
  mediatorFee: 'MEDIATOR_FEE',
  stake: 'MEDIATOR_STAKE',
  apiPort: 'LILYPAD_API_PORT',
  apiHost: 'LILYPAD_API_HOST',
  logLevel: 'LOG_LEVEL',
  logFormat: 'LOG_FORMAT',
  apiHostNames: 'LILYPAD_API_HOST_NAMES',
  resultsPort: 'LILYPAD_RESULTS_PORT',
  resultsHost: 'LILYPAD_RESULTS_HOST',
  allowJobNetwork: 'LILYPAD_ALLOW_JOB_NETWORK',
  runAhead: 'LILYPAD_RUN_AHEAD',
  limits: 'LILYPAD_LIMITS',
  corruptOutputs: 'LILYPAD_TEST_CORRUPT_OUTPUTS'
}

export const DEFAULTS = {
  network: 'devnet',
  listen: ['/ip4/0.0.0.0/tcp/0'],
  price: '1000000000000000',
  resultsCollateral: '2000000000000000',
  timeoutCollateral: '1000000000000000',
  solverFee: '10000000000000',
  mediatorFee: '100000000000000',
  /** in percent: checking pays at these price, collateral and fee defaults */
  mediationChance: DEFAULT_MEDIATION_CHANCE,
  mediatorCapacity: 4,
  /** 3 hours: room for Lilypad's usual 30-minute and 1-hour module timeouts and their margins */
  maxSubmitWithinSeconds: 3 * 3600
}

export function defaultDataDir (env: NodeJS.ProcessEnv = process.env): string {
  return env.DATA_DIR ?? join(homedir(), '.lilypad')
}

function list (value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (Array.isArray(value)) return value.map(String).filter(v => v !== '')
  return String(value).split(',').map(v => v.trim()).filter(v => v !== '')
}

function int (name: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0) throw new SettingsError(`${name} must be a whole number ≥ 0, not ${JSON.stringify(value)}`)
  return n
}

/** A submit window bound in seconds: at least a minute, at most one window of a deal. */
function windowSeconds (name: string, value: unknown): number {
  const seconds = int(name, value) ?? DEFAULTS.maxSubmitWithinSeconds
  const most = LIMITS.maxWindowMs / 1000
  if (seconds < 60 || seconds > most) throw new SettingsError(`${name} must be between 60 and ${most} seconds, not ${seconds}`)
  return seconds
}

function flag (name: string, value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false
  if (value === true || value === 'true' || value === '1') return true
  if (value === false || value === 'false' || value === '0') return false
  throw new SettingsError(`${name} must be true or false, not ${JSON.stringify(value)}`)
}

const TCP_MULTIADDR = /^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d{1,5}(\/p2p\/\w+)?$/

/** Multiaddrs as text, each checked: a bad one is named at start, not when a peer fails to dial it. */
function multiaddrs (name: string, values: string[]): string[] {
  for (const value of values) {
    if (!TCP_MULTIADDR.test(value)) throw new SettingsError(`${name}: ${value} is not a TCP multiaddr such as /ip4/203.0.113.7/tcp/4001 or /dns4/node.example/tcp/4001`)
  }
  return values
}

/** Relays, each a TCP multiaddr with the relay's peer id: a slot is reserved on a peer, not on an address. */
function relayAddresses (name: string, values: string[]): string[] {
  for (const value of values) {
    if (!TCP_MULTIADDR.test(value) || !value.includes('/p2p/')) throw new SettingsError(`${name}: ${value} is not a relay's TCP multiaddr with its peer id, such as /ip4/203.0.113.7/tcp/4001/p2p/16Uiu2...`)
  }
  return values
}

function oneOf<T extends string> (name: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined || value === '') return undefined
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T
  throw new SettingsError(`${name} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`)
}

function wei (name: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  const text = String(value)
  if (!/^\d+$/.test(text)) throw new SettingsError(`${name} must be an amount in wei (digits only), not ${JSON.stringify(value)}`)
  return BigInt(text).toString()
}

function addresses (name: string, value: unknown): string[] {
  return (list(value) ?? []).map(a => {
    try {
      return getAddress(a)
    } catch {
      throw new SettingsError(`${name}: ${a} is not an Ethereum address`)
    }
  })
}

/** Reads the JSON config file named by `--config`, or `<dataDir>/config.json` when it exists. */
function readConfigFile (path: string | undefined, dataDir: string): { file: string, settings: RawSettings } {
  const file = path ?? join(dataDir, 'config.json')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if (path === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return { file, settings: {} }
    throw new SettingsError(`cannot read the config file ${file}: ${(err as Error).message}`)
  }
  let settings: unknown
  try {
    settings = JSON.parse(text)
  } catch (err) {
    throw new SettingsError(`the config file ${file} is not JSON: ${(err as Error).message}`)
  }
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) throw new SettingsError(`the config file ${file} must hold a JSON object of settings`)
  return { file, settings: settings as RawSettings }
}

/**
 * Refuses a config file key no setting reads: a misspelt one would otherwise be ignored in silence,
 * and the node would run on a default its operator meant to change.
 */
function expectKnownKeys (file: string, settings: RawSettings, known: ReadonlySet<string>): void {
  for (const key of Object.keys(settings)) {
    if (known.has(key)) continue
    const near = closest(key, [...known])
    throw new SettingsError(`the config file ${file} has an unknown key "${key}"${near === undefined ? '' : ` (did you mean "${near}"?)`}; the keys it may hold: ${[...known].sort().join(', ')}`)
  }
}

/** The known key nearest `key` by edit distance, ignoring case, if it is near enough to be a slip. */
function closest (key: string, known: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase())
    if (d < bestDistance) [best, bestDistance] = [k, d]
  }
  return best
}

function editDistance (a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length]!
}

/** Lilypad's own names for settings, read where ours are not set. */
export const ENV_ALIASES: Readonly<Record<string, string>> = {
  offerSlots: 'OFFER_COUNT',
  modules: 'OFFER_MODULES'
}

export function resolveSettings (flags: RawSettings, env: NodeJS.ProcessEnv = process.env): NodeSettings {
  const fromEnv = (key: string): unknown => {
    const name = ENV[key]
    const value = name === undefined ? undefined : env[name]
    return value !== undefined && value !== '' ? value : (ENV_ALIASES[key] !== undefined ? env[ENV_ALIASES[key]!] : undefined)
  }
  const early = (key: string): unknown => flags[key as keyof RawSettings] ?? fromEnv(key)
  const dataDir = resolve(String(early('dataDir') ?? defaultDataDir(env)))
  const { file: configFile, settings: file } = readConfigFile(flags.config as string | undefined, dataDir)
  // every key a setting reads: what a config file may hold
  const known = new Set<string>()
  const pick = (key: string): unknown => {
    known.add(key)
    return early(key) ?? file[key as keyof RawSettings]
  }

  const roles = (list(pick('roles')) ?? ['resource-provider']) as Role[]
  for (const role of roles) {
    if (!ROLES.includes(role)) throw new SettingsError(`unknown role ${role} (roles: ${ROLES.join(', ')})`)
  }
  const docker = pick('docker')
  const mirrors = pick('mirrors')
  const network = String(pick('network') ?? DEFAULTS.network)
  // a network with a preset brings its chain, contracts and first peers: what is set here wins
  let preset: NetworkPreset | undefined
  try {
    preset = loadPreset(dataDir, network)
  } catch (err) {
    throw new SettingsError((err as Error).message)
  }
  const settlementAddress = pick('settlementAddress') ?? preset?.settlement
  const settings: NodeSettings = {
    dataDir,
    roles,
    network,
    listen: list(pick('listen')) ?? DEFAULTS.listen,
    announce: multiaddrs('LILYPAD_ANNOUNCE', list(pick('announce')) ?? []),
    bootstrap: list(pick('bootstrap')) ?? preset?.bootstrap ?? [],
    relays: relayAddresses('LILYPAD_RELAYS', list(pick('relays')) ?? []),
    relayServer: flag('LILYPAD_RELAY_SERVER', pick('relayServer')),
    rpcUrl: (pick('rpcUrl') as string | undefined) ?? preset?.rpcUrl,
    settlementAddress: settlementAddress === undefined ? undefined : addresses('settlement address', settlementAddress)[0],
    onchainJobs: pick('onchainJobs') === undefined ? undefined : addresses('LILYPAD_ONCHAIN_JOBS', pick('onchainJobs'))[0],
    solvers: addresses('SERVICE_SOLVER', pick('solvers') ?? preset?.solvers),
    mediators: addresses('SERVICE_MEDIATORS', pick('mediators') ?? preset?.mediators),
    mediatorMinStake: wei('MEDIATOR_MIN_STAKE', pick('mediatorMinStake')),
    offer: {
      cpu: int('OFFER_CPU', pick('offerCpu')),
      gpu: int('OFFER_GPU', pick('offerGpu')),
      ramMb: int('OFFER_RAM', pick('offerRam')),
      diskMb: int('OFFER_DISK', pick('offerDisk')),
      slots: int('OFFER_SLOTS', pick('offerSlots')) ?? 1,
      maxSubmitWithinMs: windowSeconds('OFFER_MAX_SUBMIT_WITHIN', pick('offerMaxSubmitWithin')) * 1000,
      price: wei('OFFER_PRICE', pick('price')) ?? DEFAULTS.price,
      resultsCollateral: wei('results collateral', pick('resultsCollateral')) ?? DEFAULTS.resultsCollateral,
      timeoutCollateral: wei('timeout collateral', pick('timeoutCollateral')) ?? DEFAULTS.timeoutCollateral,
      modules: list(pick('modules')) ?? []
    },
    solverFee: wei('SOLVER_FEE', pick('solverFee')) ?? DEFAULTS.solverFee,
    mediatorFee: wei('MEDIATOR_FEE', pick('mediatorFee')) ?? DEFAULTS.mediatorFee,
    mediatorCapacity: int('mediator capacity', pick('mediatorCapacity')) ?? DEFAULTS.mediatorCapacity,
    mediatorStake: wei('MEDIATOR_STAKE', pick('stake')),
    mirrors: typeof mirrors === 'object' && mirrors !== null ? mirrors as Record<string, string> : {},
    registries: list(pick('registries')) ?? [],
    maxImageBytes: int('LILYPAD_MAX_IMAGE_BYTES', pick('maxImageBytes')),
    docker: docker === undefined ? undefined : docker === true || docker === 'true',
    apiPort: int('LILYPAD_API_PORT', pick('apiPort')),
    apiHost: String(pick('apiHost') ?? '127.0.0.1'),
    apiHostNames: list(pick('apiHostNames')) ?? [],
    resultsPort: int('LILYPAD_RESULTS_PORT', pick('resultsPort')),
    resultsHost: String(pick('resultsHost') ?? '0.0.0.0'),
    allowJobNetwork: flag('LILYPAD_ALLOW_JOB_NETWORK', pick('allowJobNetwork')),
    runAhead: pick('runAhead') === undefined || flag('LILYPAD_RUN_AHEAD', pick('runAhead')),
    corruptOutputs: pick('corruptOutputs') === true || pick('corruptOutputs') === 'true' || pick('corruptOutputs') === '1',
    limits: resolveLimits(pick('limits'), (message) => { throw new SettingsError(message) }),
    logLevel: oneOf('LOG_LEVEL', pick('logLevel'), LOG_LEVELS) ?? 'info',
    logFormat: oneOf('LOG_FORMAT', pick('logFormat'), ['json', 'pretty'] as const) ?? 'json'
  }
  expectKnownKeys(configFile, file, known)
  if (settings.onchainJobs !== undefined && !settings.roles.includes('job-creator')) throw new SettingsError('LILYPAD_ONCHAIN_JOBS: jobs asked for on chain are relayed by a job creator; add job-creator to LILYPAD_ROLES')
  if (settings.onchainJobs !== undefined && preset?.deployBlock !== undefined && preset.onchainJobs?.toLowerCase() === settings.onchainJobs.toLowerCase()) settings.onchainJobsFromBlock = preset.deployBlock
  // libp2p advertises announced addresses in place of all others, relayed ones included
  if (settings.relays.length > 0 && settings.announce.length > 0) throw new SettingsError('LILYPAD_RELAYS and LILYPAD_ANNOUNCE: a node that announces an address it is reached at needs no relay, and the announced addresses would hide the relayed ones')
  return settings
}
