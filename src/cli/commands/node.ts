import type { Command } from 'commander'
import type { LilypadNode } from '../../node/node.ts'
import type { NodeSettings, RawSettings } from '../../node/settings.ts'
import type { Role } from '../../actors/roles/role-host.ts'

/** The node a daemon runs: a job creator's API takes jobs, under the trust settings of the node. */
export async function startNodeFromSettings (settings: NodeSettings, daemon = false): Promise<LilypadNode> {
  // the node stack loads when a node starts, not when the command line is read
  const [{ LilypadNode }, { slotsFromSettings }, { DockerExecutor }, { SettingsError }, { createLogger }] = await Promise.all([
    import('../../node/node.ts'), import('../../node/slots.ts'), import('../../executor/docker/executor.ts'), import('../../node/settings.ts'), import('../../node/logger.ts')
  ])
  if (settings.rpcUrl === undefined || settings.settlementAddress === undefined) {
    throw new SettingsError('a node needs a chain: set WEB3_RPC_URL and WEB3_SETTLEMENT_ADDRESS (or --rpc-url and --settlement)')
  }
  const gpuRuntime = settings.docker !== false && await new DockerExecutor().gpuRuntime()
  const slots = settings.roles.includes('resource-provider') ? await slotsFromSettings(settings, { gpuRuntime }) : []
  const jobs = settings.roles.includes('job-creator')
    ? { network: settings.network, solvers: settings.solvers, mediators: settings.mediators, mirrors: settings.mirrors, dataDir: settings.dataDir }
    : undefined
  return await LilypadNode.start({
    dataDir: settings.dataDir,
    roles: settings.roles,
    network: settings.network,
    listen: settings.listen,
    announceAddresses: settings.announce,
    bootstrap: settings.bootstrap,
    relays: settings.relays,
    relayServer: settings.relayServer,
    chain: { rpcUrl: settings.rpcUrl, settlementAddress: settings.settlementAddress },
    slots,
    solver: { solverFee: settings.solverFee, mediatorFee: settings.mediatorFee },
    mediator: { capacity: settings.mediatorCapacity, fee: settings.mediatorFee, ...(settings.mediatorStake === undefined ? {} : { stake: settings.mediatorStake }) },
    trust: { mediators: settings.mediators, ...(settings.mediatorMinStake === undefined ? {} : { minStake: settings.mediatorMinStake, maxFee: settings.mediatorFee }) },
    mirrors: settings.mirrors,
    registries: settings.registries,
    maxImageBytes: settings.maxImageBytes,
    docker: settings.docker,
    allowJobNetwork: settings.allowJobNetwork,
    runAhead: settings.runAhead,
    corruptOutputs: settings.corruptOutputs,
    limits: settings.limits,
    ...(daemon && settings.apiPort !== undefined ? { api: { port: settings.apiPort, host: settings.apiHost, hostNames: settings.apiHostNames, jobs } } : {}),
    ...(jobs !== undefined && settings.onchainJobs !== undefined ? { onchainJobs: { address: settings.onchainJobs, fromBlock: settings.onchainJobsFromBlock, jobs } } : {}),
    ...(daemon && settings.resultsPort !== undefined ? { resultsHttp: { port: settings.resultsPort, host: settings.resultsHost } } : {}),
    announce: daemon,
    logger: createLogger(settings.logLevel, settings.logFormat)
  })
}

/** Runs a node until SIGINT or SIGTERM, then stops it in order. */
/** Lilypad's flag names, taken where ours are not given. */
const FLAG_ALIASES: ReadonlyArray<[alias: string, ours: keyof RawSettings]> = [
  ['web3RpcUrl', 'rpcUrl'], ['serviceSolver', 'solvers'], ['serviceMediators', 'mediators'], ['offerCount', 'offerSlots'], ['offerModules', 'modules']
]

/** The settings a daemon's flags give: ours, then Lilypad's names for them; `--settlement` is the settlement address, `--relay` the relays. */
export function settingsFlags (options: Record<string, unknown>): RawSettings {
  const { settlement, relay, ...flags } = options
  for (const [alias, ours] of FLAG_ALIASES) {
    if (flags[alias] !== undefined) flags[ours] ??= flags[alias]
    delete flags[alias]
  }
  return { ...flags as RawSettings, ...(settlement === undefined ? {} : { settlementAddress: settlement }), ...(relay === undefined ? {} : { relays: relay }) }
}

async function runDaemon (options: Record<string, unknown>): Promise<void> {
  const { resolveSettings } = await import('../../node/settings.ts')
  const settings = resolveSettings(settingsFlags(options))
  // the node logs its start ('node started', with its address, roles and addresses): a daemon's stdout is its log
  const node = await startNodeFromSettings(settings, true)
  await new Promise<void>((resolve) => {
    const stop = (): void => { resolve() }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  await node.stop()
}

function nodeOptions (command: Command): Command {
  return command
    .option('--data-dir <dir>', 'where the node keeps its key, log and results (DATA_DIR; default ~/.lilypad)')
    .option('--config <file>', 'a JSON config file (default <data-dir>/config.json)')
    .option('--network <name>', 'network name in gossip topics (LILYPAD_NETWORK; default devnet)')
    .option('--listen <multiaddrs>', 'comma-separated listen addresses (LILYPAD_LISTEN)')
    .option('--announce <multiaddrs>', 'comma-separated addresses peers are told to reach this node at, e.g. /ip4/203.0.113.7/tcp/4001 when a router forwards that port to --listen (LILYPAD_ANNOUNCE; default: the listen addresses)')
    .option('--bootstrap <multiaddrs>', 'comma-separated peers to join through (LILYPAD_BOOTSTRAP)')
    .option('--relay <multiaddrs>', 'comma-separated relays, each with its /p2p/<peer id>, to be reached through when peers cannot dial this node (behind a NAT): the node keeps a slot on one of them (LILYPAD_RELAYS; default none)')
    .option('--onchain-jobs <address>', 'with the job-creator role: relay the jobs this jobs contract (LilypadJobs) is asked for by smart contracts, and deliver their results (LILYPAD_ONCHAIN_JOBS; default off)')
    .option('--relay-server', 'serve as a relay for nodes behind a NAT, within the relay limits (LILYPAD_RELAY_SERVER; default off)')
    .option('--rpc-url <url>', 'the chain\'s JSON-RPC endpoint (WEB3_RPC_URL)')
    .option('--web3-rpc-url <url>', 'Lilypad\'s name for --rpc-url')
    .option('--settlement <address>', 'the settlement contract (WEB3_SETTLEMENT_ADDRESS)')
    .option('--solvers <addresses>', 'trusted solvers (SERVICE_SOLVER)')
    .option('--service-solver <addresses>', 'Lilypad\'s name for --solvers')
    .option('--mediators <addresses>', 'trusted mediators (SERVICE_MEDIATORS)')
    .option('--service-mediators <addresses>', 'Lilypad\'s name for --mediators')
    .option('--mediator-min-stake <wei>', 'also trust mediators that announce themselves on the mesh and hold at least this stake on chain, registered for a fee no higher than MEDIATOR_FEE (MEDIATOR_MIN_STAKE; default: only --mediators)')
    .option('--offer-cpu <milli>', 'milli-cores per slot (OFFER_CPU; default: detected)')
    .option('--offer-gpu <n>', 'GPUs per slot (OFFER_GPU)')
    .option('--offer-ram <mb>', 'MB of memory per slot (OFFER_RAM)')
    .option('--offer-slots <n>', 'jobs run at once (OFFER_SLOTS, or Lilypad\'s OFFER_COUNT; default 1)')
    .option('--offer-count <n>', 'Lilypad\'s name for --offer-slots')
    .option('--offer-modules <names>', 'the modules this provider offers to run, comma-separated (OFFER_MODULES; default: any)')
    .option('--offer-disk <mb>', 'MB of disk per slot (OFFER_DISK; default: detected)')
    .option('--offer-max-submit-within <seconds>', 'the longest submit window a slot takes: a job\'s timeout and margins (OFFER_MAX_SUBMIT_WITHIN; default 10800)')
    .option('--price <wei>', 'price per job (OFFER_PRICE)')
    .option('--solver-fee <wei>', 'a solver\'s fee per deal (SOLVER_FEE)')
    .option('--mediator-fee <wei>', 'a mediator\'s fee per case, and the most a trusted announced mediator may ask (MEDIATOR_FEE)')
    .option('--stake <wei>', 'a mediator\'s stake: deposit up to this and register for its fee, answering with it for every case it takes (MEDIATOR_STAKE; default: not registered)')
    .option('--registries <hosts>', 'registries to pull images from, e.g. docker.io,127.0.0.1:5000 (LILYPAD_REGISTRIES; default: any)')
    .option('--max-image-bytes <bytes>', 'the largest image (its layers) to pull; a bigger one is refused before signing (LILYPAD_MAX_IMAGE_BYTES; default 50 GiB)')
    .option('--results-port <port>', 'serve the results this node holds over HTTP by CID (LILYPAD_RESULTS_PORT; default off)')
    .option('--results-host <host>', 'the address the results gateway listens on (LILYPAD_RESULTS_HOST; default 0.0.0.0)')
    .option('--allow-job-network', 'give jobs whose module asks for a network one (LILYPAD_ALLOW_JOB_NETWORK; default: none)')
    .option('--run-ahead <true|false>', 'start a proposal\'s job before its deal is signed, so its results are ready sooner (LILYPAD_RUN_AHEAD; default true)')
    .option('--api-port <port>', 'serve the node\'s API: /health, /status, /metrics, the dashboard (and /jobs on a job creator) (LILYPAD_API_PORT)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (LOG_LEVEL; default info)')
    .option('--log-format <format>', 'json (one object a line) or pretty (LOG_FORMAT; default json)')
    .option('--api-host <address>', 'where the API listens (LILYPAD_API_HOST; default 127.0.0.1); any other address needs the bearer token kept in <data-dir>/api-token')
    .option('--api-host-names <names>', 'comma-separated Host names the API is reached by beside its address, e.g. a proxy\'s (LILYPAD_API_HOST_NAMES)')
}

export function registerNode (program: Command): void {
  nodeOptions(program.command('node'))
    .description('run a peer node daemon with the given roles')
    .option('--roles <roles>', 'comma-separated: resource-provider, solver, mediator, job-creator (LILYPAD_ROLES; default resource-provider)')
    .action(async (options: RawSettings) => { await runDaemon(options) })
  const single: Array<[string, Role, string]> = [
    ['resource-provider', 'resource-provider', 'offer this machine\'s compute and run jobs'],
    ['solver', 'solver', 'match job offers with resource offers'],
    ['mediator', 'mediator', 're-run disputed jobs and sign verdicts']
  ]
  for (const [name, role, description] of single) {
    nodeOptions(program.command(name)).description(description).action(async (options: RawSettings) => { await runDaemon({ ...options, roles: [role] }) })
  }
}
