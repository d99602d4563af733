import { mkdir, rename, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import pino, { type Logger } from 'pino'
import { EventLog } from '../actors/eventlog/event-log.ts'
import { RoleHost, type Role } from '../actors/roles/role-host.ts'
import { ModuleRunner } from './adapters/module-runner.ts'
import type { SlotTerms } from '../state-machines/resource-provider.machine.ts'
import type { DomainJson } from '../state-machines/common.ts'
import { lilypadDomain } from '../protocols/messages/eip712-types.ts'
import { createMeshNode, type MeshNode } from '../protocols/mesh/mesh-node.ts'
import { DockerExecutor } from '../executor/docker/executor.ts'
import type { SlotSize } from '../executor/docker/limits.ts'
import { WasmExecutor } from '../executor/wasm/executor.ts'
import { PeerDatastore } from './adapters/peer-datastore.ts'
import { FundingCache } from '../protocols/mesh/offer-funding.ts'
import { DEFAULT_NODE_LIMITS, type NodeLimits } from './limits.ts'
import { ResultsStore } from '../executor/results/store.ts'
import { ResultsExchange } from '../executor/results/exchange.ts'
import type { Executors } from '../executor/results/determinism.ts'
import type { ModuleMirrors } from '../executor/modules/mirrors.ts'
import { SettlementClient } from '../settlement/client.ts'
import { loadNodeKey, type NodeKey } from './node-key.ts'
import { MeshTransport } from './adapters/mesh-transport.ts'
import { resultsFetcher } from './adapters/results-fetcher.ts'
import { MediatorTrust } from './adapters/mediator-trust.ts'
import { LogWitness } from '../actors/roles/log-witness.ts'
import { assertFaultAllowed, recordFault, silencedChallenges, type Fault } from './faults.ts'
import { ensureMediatorStake } from './mediator-stake.ts'
import { startApi } from './server/http-server.ts'
import { isLoopback } from './server/access.ts'
import { apiToken } from './server/api-token.ts'
import { DealActivity } from './activity/deal-activity.ts'
import { logActivity } from './activity/activity-log.ts'
import { startResultsServer } from './server/results-server.ts'
import { NodeMetrics } from './metrics/node-metrics.ts'
import { nodeSources } from './metrics/node-sources.ts'
import { libp2pMetrics } from './metrics/libp2p-metrics.ts'
import type { JobBoardOptions } from './server/job-board.ts'
import type { Service } from '../support/lifecycle.ts'

/**
 * A node's solver matches a new job or offer this long after it arrives (the machine's default,
 * 50 ms, is for the simulator): at the next turn of the event loop, as a job waits on the critical
 * path of `lilypad run`. Messages handled in the same turn still meet in one round.
 */
const SOLVER_BATCH_DELAY_MS = 0
/**
 * how long a provider holds a finished run's cleanup and its next spare outputs filesystem back:
 * its results are hashed, announced and fetched by the job creator in about 100 ms
 */
const QUIET_AFTER_RESULTS_MS = 250
/** how long a stopping node waits for its counterparties to witness its last log head */
const WITNESS_FLUSH_MS = 2000

export interface ChainOptions {
  rpcUrl: string
  settlementAddress: string
}

export interface NodeOptions {
  dataDir: string
  roles: Role[]
  /** network name in gossip topics */
  network: string
  listen: string[]
  /** the addresses peers are told to reach this node at (default: those it listens on) */
  announceAddresses?: string[]
  bootstrap: string[]
  /** relays (multiaddrs with /p2p/<id>) to be reachable through, for a node peers cannot dial (behind a NAT) */
  relays?: string[]
  /** serve as a relay for peers behind a NAT, within the relay limits of `limits` (default false) */
  relayServer?: boolean
  /** a job creator: relay the jobs this jobs contract is asked for, under these trust settings */
  /** relay the jobs asked of this jobs contract, reading its requests from `fromBlock` (default 0) */
  onchainJobs?: { address: string, jobs: JobBoardOptions, pollMs?: number, fromBlock?: number }
  /** where deals settle; without it the node signs under `domain` and cannot settle */
  chain?: ChainOptions
  domain?: DomainJson
  slots?: SlotTerms[]
  solver?: { solverFee: string, mediatorFee: string, batchDelayMs?: number }
  /** `stake`: deposit up to it and register for `fee` before mediating (absent: not registered) */
  mediator?: { capacity: number, fee?: string, multiaddrs?: string[], stake?: string }
  /**
   * the mediators the node trusts: `mediators`, and with `minStake` (wei) announced ones holding that
   * stake on chain at a registered fee of at most `maxFee` (see MediatorTrust); absent: the slots' own
   */
  trust?: { mediators: string[], minStake?: string, maxFee?: string }
  mirrors?: ModuleMirrors
  /** registries a provider pulls images from; absent or empty: any */
  registries?: string[]
  /** the largest image a provider pulls, bytes (default: the executor's) */
  maxImageBytes?: number
  /** run Docker modules (default: when an engine answers) */
  docker?: boolean
  /** give jobs whose module asks for a network one (default: every job runs with none) */
  allowJobNetwork?: boolean
  /** start a proposal's job before its deal is signed, to hand results over sooner (default true; see warm-runs.ts) */
  runAhead?: boolean
  /** test networks only: the provider alters its outputs, so mediation can be exercised */
  corruptOutputs?: boolean
  /** test networks only: the job creator's checks alter its own re-run, so it challenges honest results */
  challengeHonestResults?: boolean
  /** test networks only: the job creator tells only the provider of its challenges (not the mediator, not the chain) */
  wireOnlyChallenge?: boolean
  /** test networks only: the job creator posts its challenges on chain and tells no one */
  chainOnlyChallenge?: boolean
  /**
   * serve the HTTP API (status, metrics, dashboard, and /jobs given `jobs`): the last part started,
   * the first stopped. On `host` (default 127.0.0.1); any other address needs the bearer token kept
   * in <dataDir>/api-token, made on first need and shown once.
   */
  api?: { port: number, host?: string, hostNames?: string[], jobs?: JobBoardOptions }
  /** serve the results this node holds over HTTP, by CID (see results-server.ts); host defaults to 0.0.0.0 */
  resultsHttp?: { port: number, host?: string }
  /** bounds on what other peers can make the node hold (default DEFAULT_NODE_LIMITS) */
  limits?: NodeLimits
  /** once started, write <dataDir>/node.json (address, peer id, addresses, API): tools wait for that file */
  announce?: boolean
  logger?: Logger
}

/** What <dataDir>/node.json says of a started node. */
export interface NodeInfo {
  address: string
  peerId: string
  roles: Role[]
  multiaddrs: string[]
  api: string | null
  /** its results gateway, when it serves one */
  results: string | null
  pid: number
}

/**
 * The composition root: builds a node's parts in order (key, log, chain, mesh, results, executors,
 * role actors) and stops them in reverse. Nothing is lost on stop: every input is already logged.
 */
export class LilypadNode implements Service {
  private constructor (
    readonly key: NodeKey,
    readonly log: EventLog,
    readonly mesh: MeshNode,
    readonly results: ResultsStore,
    readonly exchange: ResultsExchange,
    readonly host: RoleHost,
    readonly settlement: SettlementClient | undefined,
    readonly domain: DomainJson,
    readonly logger: Logger,
    /** the mediators it trusts, configured and announced */
    readonly mediatorTrust: MediatorTrust | undefined,
    /** what its machines do, as it happens: deal state changes, effects started and ended */
    readonly activity: DealActivity,
    /** its Prometheus metrics, served at `GET /metrics` */
    readonly metrics: NodeMetrics
  ) {}

  get address (): string {
    return this.key.address
  }

  static async start (options: NodeOptions, env: NodeJS.ProcessEnv = process.env): Promise<LilypadNode> {
    const logger = options.logger ?? pino({ level: env.LOG_LEVEL ?? 'info' })
    await mkdir(options.dataDir, { recursive: true })
    const key = await loadNodeKey(options.dataDir, env)
    const cleanups: Array<() => Promise<void> | void> = []
    const metrics = new NodeMetrics()
    try {
      const log = await EventLog.open(join(options.dataDir, 'log'), { signer: key.signer })
      cleanups.push(() => log.close())
      const faults: Fault[] = []
      if (options.corruptOutputs === true) faults.push('corrupt-outputs')
      if (options.challengeHonestResults === true) faults.push('challenge-honest-results')
      if (options.wireOnlyChallenge === true) faults.push('wire-only-challenge')
      if (options.chainOnlyChallenge === true) faults.push('chain-only-challenge')
      for (const fault of faults) {
        assertFaultAllowed(fault, options.network)
        await recordFault(log, fault, { network: options.network, roles: options.roles })
      }

      let settlement: SettlementClient | undefined
      let domain: DomainJson
      if (options.chain !== undefined) {
        settlement = await SettlementClient.open({
          rpcUrl: options.chain.rpcUrl,
          privateKey: key.privateKey,
          settlementAddress: options.chain.settlementAddress,
          onTransaction: (tx) => { metrics.chainTransaction(tx) }
        })
        cleanups.push(() => settlement!.close())
        domain = { chainId: String(settlement.domain.chainId), verifyingContract: settlement.address }
      } else if (options.domain !== undefined) {
        domain = options.domain
      } else {
        throw new Error('a node needs a chain to settle on (WEB3_RPC_URL and the settlement contract address)')
      }

      const stake = options.mediator?.stake
      if (stake !== undefined && options.roles.includes('mediator')) {
        if (settlement === undefined) throw new Error('a mediator\'s stake needs a chain (WEB3_RPC_URL and the settlement contract address)')
        const staked = await ensureMediatorStake(settlement, BigInt(stake), BigInt(options.mediator?.fee ?? '0'))
        logger.info({ deposited: String(staked.deposited), stake: String(staked.stake), fee: String(staked.fee), registeredNow: staked.registeredNow }, 'mediator staked')
      }

      // a restarted node must still reach the parties of its open deals, which it may have met only
      // through their own dials: the peer store keeps their addresses on disk
      const limits = options.limits ?? DEFAULT_NODE_LIMITS
      const peers = await PeerDatastore.open(join(options.dataDir, 'peers'), { maxDhtRecords: limits.dhtMaxRecords })
      cleanups.push(() => peers.close())
      const funding = settlement === undefined
        ? undefined
        : new FundingCache({ balanceOf: async (address) => await settlement!.balanceOf(address), onError: (err) => logger.debug({ err }, 'escrow read for an offer') })
      const mesh = await createMeshNode({
        meshState: { maxOffers: limits.meshMaxOffers, maxOfferBytes: limits.meshMaxOfferBytes, maxOffersPerAuthor: limits.meshMaxOffersPerAuthor },
        offerAdmission: { perSecond: limits.offerAdmissionPerSecond, burst: limits.offerAdmissionBurst },
        ...(funding === undefined ? {} : { funding }),
        privateKey: key.privateKey,
        datastore: peers,
        metrics: libp2pMetrics(metrics.registry),
        peerRouting: true,
        network: options.network,
        domain: lilypadDomain(BigInt(domain.chainId), domain.verifyingContract),
        listen: options.listen,
        announce: options.announceAddresses,
        bootstrap: options.bootstrap,
        relays: options.relays,
        ...(options.relayServer === true ? { relayServer: { maxReservations: limits.relayMaxReservations, maxBytes: limits.relayMaxBytes, maxSeconds: limits.relayMaxSeconds } } : {}),
        // offers synced before the role actors listen would be lost: the sync starts once they do
        syncOnConnect: false,
        onError: (err, context) => logger.warn({ err, context }, 'mesh')
      })
      cleanups.push(() => mesh.stop())

      const results = await ResultsStore.open(options.dataDir)
      cleanups.push(() => results.close())
      const exchange = new ResultsExchange(mesh.libp2p, results)
      await exchange.start()
      cleanups.push(() => exchange.stop())

      const executors: Executors = { wasm: new WasmExecutor() }
      if (options.docker !== false) {
        const docker = new DockerExecutor({
          slot: slotSize(options.slots),
          allowNetwork: options.allowJobNetwork === true,
          maxImageBytes: options.maxImageBytes,
          // a provider's next job finds its outputs filesystem made
          spareOutputs: options.roles.includes('resource-provider'),
          cleanUpAfterResults: true,
          quietAfterResultsMs: QUIET_AFTER_RESULTS_MS,
          onPullProgress: (p) => logger.info({ image: p.image, layers: `${p.layersDone}/${p.layers}`, mb: `${(p.bytes / 1e6).toFixed(1)}/${(p.totalBytes / 1e6).toFixed(1)}` }, p.done ? 'image pulled' : 'pulling image')
        })
        const answers = await docker.ping().then(() => true, () => false)
        if (answers) executors.docker = docker
        else if (options.docker === true) throw new Error('Docker was asked for, and no Docker engine answers')
      }

      const meshTransport = new MeshTransport(mesh)
      // every record of the log, to the last, comes to be covered by a head a counterparty holds
      const witness = new LogWitness(log, key.signer, meshTransport, { onError: (err, peer) => logger.debug({ err, peer }, 'log head notice') })
      meshTransport.witness = witness
      await meshTransport.start()
      witness.start()
      // after the role actors stop (cleanups run in reverse): their last records are told too
      cleanups.push(async () => {
        await witness.stop()
        await witness.flush(AbortSignal.timeout(WITNESS_FLUSH_MS))
      })
      const silenced = faults.find(f => f === 'wire-only-challenge' || f === 'chain-only-challenge')
      const challenger = silenced !== undefined && settlement !== undefined ? silencedChallenges(silenced, settlement, meshTransport) : undefined
      const transport = challenger?.transport ?? meshTransport
      const fetcher = resultsFetcher(mesh, meshTransport, exchange, logger)
      const multiaddrs = mesh.multiaddrs().map(a => a.toString())
      const slots = (options.slots ?? []).map(slot => ({ ...slot, multiaddrs: slot.multiaddrs.length > 0 ? slot.multiaddrs : multiaddrs.slice(0, 4) }))
      const runner = new ModuleRunner({ dataDir: options.dataDir, mirrors: options.mirrors, registries: options.registries, warmRuns: options.runAhead !== false, corruptOutputs: faults.includes('corrupt-outputs') || faults.includes('challenge-honest-results') }, { executors, results, inputs: { fetcher, dirOf: name => exchange.downloadDir(name), blockstore: results.blockstore, add: async dir => await results.add(dir) } })
      cleanups.push(() => runner.stop())
      await runner.sweep()
      const host = await RoleHost.start({
        roles: options.roles,
        domain,
        resourceProvider: { slots },
        solver: options.solver === undefined
          ? undefined
          : { batchDelayMs: SOLVER_BATCH_DELAY_MS, book: { maxOffers: limits.bookMaxOffers, maxJobs: limits.bookMaxJobs, maxPerAuthor: limits.bookMaxPerAuthor }, ...options.solver },
        mediator: options.mediator === undefined ? undefined : { multiaddrs: multiaddrs.slice(0, 4), ...options.mediator },
        messageRetentionMs: limits.messageRetentionHours * 3600_000
      }, {
        log,
        wallet: new Wallet(key.privateKey),
        transport,
        runner,
        fetcher,
        settlement: challenger?.settlement ?? settlement,
        onRejected: (stream, output) => logger.debug({ stream, code: output.code, reason: output.reason }, 'input rejected'),
        onDeclined: (stream, output) => logger.warn({ stream, dealId: output.dealId, reason: output.reason }, 'deal declined before signing'),
        onError: (err) => logger.error({ err }, 'role actors')
      })
      cleanups.push(() => host.stop())
      const activity = new DealActivity(host.runtime)
      cleanups.push(() => { activity.stop() })
      logActivity(activity, logger, key.address)
      cleanups.push(metrics.follow(nodeSources(activity, { mesh, log, host, runner: options.roles.includes('resource-provider') ? runner : undefined })))
      // before the offer sync: the announcements it brings are weighed as they come
      const mediatorTrust = options.trust === undefined ? undefined : startMediatorTrust(options.trust, mesh, settlement, host, logger)
      if (mediatorTrust !== undefined) cleanups.push(() => mediatorTrust.stop())
      mesh.startOfferSync()
      const node = new LilypadNode(key, log, mesh, results, exchange, host, settlement, domain, logger, mediatorTrust, activity, metrics)
      if (options.resultsHttp !== undefined) {
        const gateway = await startResultsServer(results, options.resultsHttp.port, options.resultsHttp.host ?? '0.0.0.0')
        cleanups.push(() => closeServer(gateway.server))
        node.resultsUrl = gateway.url
      }
      if (options.api !== undefined) {
        const apiHost = options.api.host ?? '127.0.0.1'
        const token = isLoopback(apiHost) ? undefined : await apiToken(options.dataDir)
        if (token?.created === true) process.stderr.write(`the API's bearer token (shown once; kept in ${token.file}): ${token.token}\n`)
        const api = await startApi(node, {
          roles: options.roles,
          port: options.api.port,
          access: { host: apiHost, ...(token === undefined ? {} : { token: token.token }), hostNames: options.api.hostNames ?? [] },
          activity: node.activity,
          ...(options.api.jobs === undefined ? {} : { jobs: options.api.jobs })
        })
        cleanups.push(() => closeServer(api.server))
        node.apiUrl = `http://${isLoopback(apiHost) || apiHost === '0.0.0.0' ? '127.0.0.1' : apiHost}:${api.port}`
      }
      if (options.onchainJobs !== undefined) {
        if (!options.roles.includes('job-creator') || settlement === undefined) throw new Error('relaying on-chain jobs needs the job-creator role and a chain')
        const [{ OnchainJobsClient }, { OnchainRelayer }] = await Promise.all([import('../settlement/onchain-jobs.ts'), import('./onchain/relayer.ts')])
        const relayer = new OnchainRelayer(node, await OnchainJobsClient.attach(settlement, options.onchainJobs.address), { ...options.onchainJobs.jobs, pollMs: options.onchainJobs.pollMs, fromBlock: options.onchainJobs.fromBlock })
        relayer.start()
        cleanups.push(() => relayer.stop())
      }
      if (options.announce === true) await writeNodeInfo(options.dataDir, node.info(options.roles))
      logger.info({ address: key.address, peerId: mesh.peerId.toString(), roles: options.roles, listen: multiaddrs }, 'node started')
      return node.withCleanups(cleanups)
    } catch (err) {
      for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined)
      throw err
    }
  }

  private cleanups: Array<() => Promise<void> | void> = []
  /** where the node's HTTP API answers, when it serves one */
  apiUrl: string | null = null
  /** where its results gateway answers, when it serves one */
  resultsUrl: string | null = null

  info (roles: Role[]): NodeInfo {
    return { address: this.address, peerId: this.mesh.peerId.toString(), roles, multiaddrs: this.mesh.multiaddrs().map(String), api: this.apiUrl, results: this.resultsUrl, pid: process.pid }
  }

  private withCleanups (cleanups: Array<() => Promise<void> | void>): this {
    this.cleanups = cleanups
    return this
  }

  /** Stops in reverse order of start; the log closes last, after every queued input is written. */
  async stop (): Promise<void> {
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      await Promise.resolve(cleanup()).catch((err: Error) => this.logger.warn({ err }, 'stopping'))
    }
  }
}

/**
 * The most one job may have here: the largest slot's size (settings make a node's slots alike). A
 * node with no slots only checks and re-runs jobs, with the limits their specs name.
 */
function slotSize (slots: SlotTerms[] | undefined): SlotSize | undefined {
  if (slots === undefined || slots.length === 0) return undefined
  const most = (pick: (s: SlotTerms) => number): number => Math.max(...slots.map(pick))
  const MiB = 1024 * 1024
  return { cpuMilli: most(s => s.cpu), memoryBytes: most(s => s.ramMb) * MiB, gpus: most(s => s.gpu), diskBytes: most(s => s.diskMb) * MiB }
}

/**
 * Trusts announced mediators by their stake on chain, when asked to: the provider's offers name them
 * as they come and go, and the job creator's job offers name them when made.
 */
function startMediatorTrust (trust: NonNullable<NodeOptions['trust']>, mesh: MeshNode, settlement: SettlementClient | undefined, host: RoleHost, logger: Logger): MediatorTrust {
  if (trust.minStake !== undefined && settlement === undefined) throw new Error('trusting mediators by stake needs a chain (WEB3_RPC_URL and the settlement contract address)')
  const mediatorTrust = new MediatorTrust({
    configured: trust.mediators,
    ...(trust.minStake === undefined ? {} : { minStake: BigInt(trust.minStake) }),
    ...(trust.maxFee === undefined ? {} : { maxFee: BigInt(trust.maxFee) }),
    announcers: () => mesh.liveOffers().filter(o => o.topic === 'mediators' && !o.own).map(o => o.author),
    termsOf: async (mediator) => await settlement!.mediatorOf(mediator),
    onChange: async (trusted) => {
      logger.info({ trusted }, 'trusted mediators')
      await host.trustMediators(trusted)
    },
    onError: (err) => logger.warn({ err }, 'reading announced mediators')
  })
  mediatorTrust.start()
  // a mediator that announces itself is weighed at once, not at the next periodic read
  mesh.onMessage('mediators', () => { mediatorTrust.soon() })
  return mediatorTrust
}

/** Written whole or not at all: a tool that sees the file reads all of it. */
async function writeNodeInfo (dataDir: string, info: NodeInfo): Promise<void> {
  const file = join(dataDir, 'node.json')
  await writeFile(`${file}.tmp`, JSON.stringify(info, null, 2) + '\n')
  await rename(`${file}.tmp`, file)
}

/** Stops taking requests and ends those open: a dashboard's event stream never ends by itself. */
async function closeServer (server: Server): Promise<void> {
  const closed = new Promise<void>(resolve => { server.close(() => resolve()) })
  server.closeAllConnections()
  await closed
}
