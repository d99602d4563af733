import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { computeAddress } from 'ethers'
import { startDevChain, type DevChain } from '../settlement/dev-chain.ts'
import { deployContracts } from '../settlement/deploy.ts'
import { SettlementClient } from '../settlement/client.ts'
import type { Role } from '../actors/roles/role-host.ts'
import type { LogLevel } from '../node/logger.ts'
import { PACKAGE_ROOT } from '../support/package-root.ts'

/** What a client needs to use a running devnet; written to `<dir>/devnet.json`. */
export interface DevnetInfo {
  network: string
  rpcUrl: string
  chainId: string
  settlementAddress: string
  bootstrap: string[]
  solvers: string[]
  mediators: string[]
  /** a funded account with a deposit, for `lilypad run` */
  jobCreatorKey: string
  /** every job creator account (the first is `jobCreatorKey`) */
  jobCreatorKeys: string[]
  mirrors: Record<string, string>
  /** the API of the devnet's job-creator node, which `lilypad run` submits to (when it has one) */
  jobCreatorApi?: string
  /** LilypadJobs, through which contracts ask for jobs (when the devnet has relayers) */
  onchainJobs?: string
  nodes: Array<{ name: string, roles: Role[], address: string, dataDir: string, pid: number, multiaddrs: string[], results?: string }>
}

/** How a job creator joins a devnet: the connection and trust settings of `runJob`, for one of its funded accounts. */
export function devnetJobOptions (info: DevnetInfo, creator = 0): {
  privateKey: string, network: string, rpcUrl: string, settlementAddress: string,
  bootstrap: string[], solvers: string[], mediators: string[], mirrors: Record<string, string>
} {
  const privateKey = (info.jobCreatorKeys ?? [info.jobCreatorKey])[creator]
  if (privateKey === undefined) throw new Error(`the devnet has no job creator account number ${creator + 1}`)
  return {
    privateKey,
    network: info.network,
    rpcUrl: info.rpcUrl,
    settlementAddress: info.settlementAddress,
    bootstrap: info.bootstrap,
    solvers: info.solvers,
    mediators: info.mediators,
    mirrors: info.mirrors
  }
}

export interface DevnetOptions {
  dir: string
  providers?: number
  solvers?: number
  mediators?: number
  /** module name or repository → local repository (how an offline network finds its modules) */
  mirrors?: Record<string, string>
  /** test networks only: these providers corrupt their outputs */
  cheatingProviders?: number
  /** funded job creator accounts (default 1) */
  jobCreators?: number
  /** serve each node's HTTP API (`/status`) on a free port of 127.0.0.1 */
  api?: boolean
  /** also run a job-creator node, with its API (`jobCreatorApi` in devnet.json), for `lilypad run` to submit to */
  jobCreatorNode?: boolean
  /** job-creator nodes that relay the jobs contracts ask for on chain (LilypadJobs is deployed when there are any) */
  relayers?: number
  /** how many of the mediators every node is told to trust (default all): the rest are found by their announcements, where a node's config asks (`mediatorMinStake`) */
  configuredMediators?: number
  /**
   * settings written to a node's `config.json`, by node name (e.g. a provider's allowed `modules`),
   * or made from the nodes started before it (e.g. a relay's address)
   */
  nodeConfig?: Record<string, Record<string, unknown>> | ((name: string, started: DevnetInfo['nodes']) => Record<string, unknown> | undefined)
  /** start the nodes after the first three all at once (default: one after another) */
  parallelStart?: boolean
  /** what each node writes to its node.log (default LOG_LEVEL, else warn) */
  logLevel?: LogLevel
  /** the address the dev chain listens on (default 127.0.0.1): one every node can reach */
  chainHost?: string
  /** where a node runs, by name (default: a process here, listening on 127.0.0.1) */
  placement?: (name: string) => NodePlacement | undefined
  log?: (line: string) => void
}

/** Where a node process runs: e.g. in a network namespace of its own, on that namespace's address. */
export interface NodePlacement {
  /** the IPv4 address its mesh and results gateway listen on */
  host: string
  /** the command it runs under, its own command line appended (e.g. `nsenter --net=<namespace> --`) */
  prefix?: string[]
}

/** One node process of a devnet, for tests that kill and restart nodes. */
export interface DevnetNode {
  name: string
  readonly process: ChildProcess
  /** ends the process with a signal and waits for it to exit */
  kill: (signal?: NodeJS.Signals) => Promise<void>
  /** starts the process again on the same data directory and key; resolves once it is up */
  restart: () => Promise<void>
  stderr: () => string
  /** what the running (or last) process wrote to its node.json */
  started: () => StartedNode | undefined
}

export interface Devnet {
  info: DevnetInfo
  chain: DevChain
  nodes: DevnetNode[]
  node: (name: string) => DevnetNode
  stop: () => Promise<void>
}

const BIN = join(PACKAGE_ROOT, 'bin', 'lilypad.js')
const TOKEN = 10n ** 18n
/** every devnet account's deposit; a mediator's is its stake, for which it registers */
export const DEVNET_DEPOSIT = 100n * TOKEN
export const DEVNET_NETWORK = 'devnet'

export interface StartedNode { address: string, multiaddrs: string[], api?: string | null, results?: string | null }

/**
 * Spawns a node process and keeps what it needs to kill and restart it. A restart listens on the
 * port the first process got, so peers and bootstrap lists that name it stay right.
 */
function spawnNode (name: string, args: (restart: StartedNode | undefined) => string[], env: NodeJS.ProcessEnv, infoFile: string, prefix: string[] = []): DevnetNode & { ready: Promise<StartedNode> } {
  let child!: ChildProcess
  let stderr = ''
  let last: StartedNode | undefined
  const launch = async (): Promise<StartedNode> => {
    await rm(infoFile, { force: true })
    // LILYPAD_NODE_CPU_PROF=<dir>: each node process writes a V8 CPU profile there when it stops
    const profile = env.LILYPAD_NODE_CPU_PROF !== undefined && env.LILYPAD_NODE_CPU_PROF !== '' ? ['--cpu-prof', `--cpu-prof-dir=${env.LILYPAD_NODE_CPU_PROF}`, `--cpu-prof-name=${name}.${Date.now()}.cpuprofile`] : []
    const command = [...prefix, process.execPath, ...profile, ...args(last)]
    child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
    // every start of the node appends its output to one file beside its data, to read after a crash
    const logFile = createWriteStream(join(dirname(infoFile), 'node.log'), { flags: 'a' })
    child.stdout!.pipe(logFile)
    child.stderr!.pipe(logFile)
    child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-20_000) })
    last = JSON.parse(await waitForFile(infoFile, child, () => stderr)) as StartedNode
    return last
  }
  const ready = launch()
  return {
    name,
    ready,
    get process () { return child },
    stderr: () => stderr,
    started: () => last,
    kill: (signal = 'SIGTERM') => new Promise<void>(done => {
      // this process, not whichever runs when the timer fires: a restart may have begun by then
      const target = child
      if (target.exitCode !== null || target.signalCode !== null) return done()
      const forced = signal === 'SIGKILL' ? undefined : setTimeout(() => target.kill('SIGKILL'), 10_000).unref()
      target.once('exit', () => { clearTimeout(forced); done() })
      target.kill(signal)
    }),
    restart: async () => { await launch() }
  }
}

/**
 * How long a node may take to write its info file: a two-core machine starting many nodes at once,
 * or a node replaying its log after a crash, has been measured at 20-75 s.
 */
const START_TIMEOUT_MS = 120_000

function waitForFile (path: string, child: ChildProcess, stderr: () => string, timeoutMs = START_TIMEOUT_MS): Promise<string> {
  const started = Date.now()
  return new Promise((resolvePromise, reject) => {
    const poll = (): void => {
      readFile(path, 'utf8').then(resolvePromise, () => {
        if (child.exitCode !== null || child.signalCode !== null) return reject(new Error(`node exited (${child.exitCode ?? child.signalCode}) before starting: ${stderr().trim().split('\n').slice(-3).join(' | ')}`))
        if (Date.now() - started > timeoutMs) return reject(new Error(`node did not start within ${timeoutMs} ms`))
        setTimeout(poll, 100)
      })
    }
    poll()
  })
}

/**
 * A whole local network in one call: a dev chain with the contracts deployed, funded accounts
 * with deposits in escrow, and node processes covering every role on 127.0.0.1 (or where `placement`
 * puts them).
 */
export async function startDevnet (options: DevnetOptions): Promise<Devnet> {
  const log = options.log ?? (() => {})
  const dir = resolve(options.dir)
  const plan: Array<{ name: string, roles: Role[], cheat: boolean, relay?: boolean }> = []
  for (let i = 0; i < (options.solvers ?? 2); i++) plan.push({ name: `solver-${i + 1}`, roles: ['solver'], cheat: false })
  for (let i = 0; i < (options.mediators ?? 1); i++) plan.push({ name: `mediator-${i + 1}`, roles: ['mediator'], cheat: false })
  for (let i = 0; i < (options.providers ?? 2); i++) plan.push({ name: `provider-${i + 1}`, roles: ['resource-provider'], cheat: i < (options.cheatingProviders ?? 0) })
  if (options.jobCreatorNode === true) plan.push({ name: 'job-creator', roles: ['job-creator'], cheat: false })
  for (let i = 0; i < (options.relayers ?? 0); i++) plan.push({ name: `relayer-${i + 1}`, roles: ['job-creator'], cheat: false, relay: true })

  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  log('starting the dev chain')
  const creators = Math.max(1, options.jobCreators ?? 1)
  const chain = await startDevChain({ accounts: plan.length + 1 + creators, host: options.chainHost })
  const handles: DevnetNode[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(handles.map(handle => handle.kill('SIGTERM')))
    await chain.stop()
  }
  try {
    const [deployerKey, ...rest] = chain.accounts as [string, ...string[]]
    const jobCreatorKeys = rest.slice(0, creators)
    const nodeKeys = rest.slice(creators)
    const everyone = [...jobCreatorKeys, ...nodeKeys].map(k => computeAddress(k))
    log('deploying the token and settlement contracts')
    const deployment = await deployContracts({ rpcUrl: chain.rpcUrl, deployerKey, fund: everyone.map(address => ({ address, amount: 1000n * TOKEN })), onchainJobs: (options.relayers ?? 0) > 0 })
    const settlementAddress = deployment.settlement
    log('depositing collateral in escrow for every account')
    for (const key of [...jobCreatorKeys, ...nodeKeys]) {
      const client = await SettlementClient.open({ rpcUrl: chain.rpcUrl, privateKey: key, settlementAddress })
      await client.deposit(DEVNET_DEPOSIT)
      await client.close()
    }
    const addressOf = (name: string): string => computeAddress(nodeKeys[plan.findIndex(p => p.name === name)]!)
    const solvers = plan.filter(p => p.roles.includes('solver')).map(p => addressOf(p.name))
    const mediators = plan.filter(p => p.roles.includes('mediator')).map(p => addressOf(p.name))
    const nodes: DevnetInfo['nodes'] = []
    const bootstrap: string[] = []
    let jobCreatorApi: string | undefined
    const hostOf = (name: string): string => options.placement?.(name)?.host ?? '127.0.0.1'
    const reachable = (name: string, started: StartedNode): string[] => started.multiaddrs.filter(a => a.includes(`/${hostOf(name)}/`))
    const launchNode = async (index: number, node: typeof plan[number]): Promise<void> => {
      const host = hostOf(node.name)
      const dataDir = join(dir, 'nodes', node.name)
      await mkdir(dataDir, { recursive: true })
      const given = typeof options.nodeConfig === 'function' ? options.nodeConfig(node.name, nodes.filter(Boolean)) : options.nodeConfig?.[node.name]
      const config = node.relay === true ? { ...given, onchainJobs: deployment.onchainJobs } : given
      if (config !== undefined) await writeFile(join(dataDir, 'config.json'), JSON.stringify(config, null, 2) + '\n')
      const firstBootstrap = [...bootstrap]
      const args = (restart: StartedNode | undefined): string[] => {
        const port = restart === undefined ? '0' : (reachable(node.name, restart)[0]?.split('/')[4] ?? '0')
        // a restarted node joins through every other node, wherever the first ones are
        const peers = restart === undefined
          ? firstBootstrap
          : handles.filter(h => h.name !== node.name).flatMap(h => reachable(h.name, h.started() ?? { address: '', multiaddrs: [] }).slice(0, 1))
        return [BIN, 'node', '--roles', node.roles.join(','), '--data-dir', dataDir, '--network', DEVNET_NETWORK,
          '--listen', `/ip4/${host}/tcp/${port}`, '--rpc-url', chain.rpcUrl, '--settlement', settlementAddress,
          '--solvers', solvers.join(','), '--mediators', mediators.slice(0, options.configuredMediators ?? mediators.length).join(','),
          ...(options.api === true || node.roles.includes('job-creator') ? ['--api-port', '0'] : []),
          ...(node.roles.includes('resource-provider') ? ['--results-port', '0', '--results-host', host] : []),
          ...(node.roles.includes('mediator') ? ['--stake', String(DEVNET_DEPOSIT)] : []),
          ...(peers.length > 0 ? ['--bootstrap', peers.join(',')] : [])]
      }
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        WEB3_PRIVATE_KEY: nodeKeys[index]!,
        LILYPAD_MODULE_MIRRORS: JSON.stringify(options.mirrors ?? {}),
        // a devnet runs on one machine: its modules may be local repositories
        LILYPAD_MODULE_SCHEMES: process.env.LILYPAD_MODULE_SCHEMES ?? 'https,file',
        LOG_LEVEL: options.logLevel ?? process.env.LOG_LEVEL ?? 'warn',
        ...(node.cheat ? { LILYPAD_TEST_CORRUPT_OUTPUTS: '1' } : {})
      }
      const handle = spawnNode(node.name, args, env, join(dataDir, 'node.json'), options.placement?.(node.name)?.prefix)
      handles.push(handle)
      const started = await handle.ready
      nodes[index] = {
        name: node.name, roles: node.roles, address: started.address, dataDir, pid: handle.process.pid ?? 0, multiaddrs: reachable(node.name, started),
        ...(started.results != null ? { results: started.results } : {})
      }
      if (node.name === 'job-creator') jobCreatorApi = started.api ?? undefined
      log(`${node.name} (${node.roles.join(', ')}) is up: ${started.address}`)
    }
    const first = options.parallelStart === true ? Math.min(3, plan.length) : plan.length
    for (const [index, node] of plan.entries()) {
      if (index >= first) break
      await launchNode(index, node)
      if (bootstrap.length < 3) bootstrap.push(`${nodes[index]!.multiaddrs[0]}`)
    }
    await Promise.all(plan.map((node, index) => index >= first ? launchNode(index, node) : undefined))
    const info: DevnetInfo = {
      network: DEVNET_NETWORK,
      rpcUrl: chain.rpcUrl,
      chainId: chain.chainId.toString(),
      settlementAddress,
      bootstrap: nodes.map(n => n.multiaddrs[0]!).filter(Boolean),
      solvers,
      mediators,
      jobCreatorKey: jobCreatorKeys[0]!,
      jobCreatorKeys,
      mirrors: options.mirrors ?? {},
      ...(jobCreatorApi === undefined ? {} : { jobCreatorApi }),
      ...(deployment.onchainJobs === undefined ? {} : { onchainJobs: deployment.onchainJobs }),
      nodes
    }
    await writeFile(join(dir, 'devnet.json'), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 })
    const byName = (name: string): DevnetNode => {
      const found = handles.find(h => h.name === name)
      if (found === undefined) throw new Error(`no devnet node ${name}`)
      return found
    }
    return { info, chain, nodes: handles, node: byName, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
