import type { Command } from 'commander'
import { API_EXIT, CommandFailure, reportRun, type Write } from './node-api-flags.ts'

export interface DeployFlags {
  network?: string
  rpcUrl?: string
  dataDir?: string
  withdrawDelay?: string
  bootstrap?: string
  solvers?: string
  mediators?: string
  /** false: leave LilypadJobs out (commander's --no-onchain-jobs) */
  onchainJobs?: boolean
  json?: boolean
}

const list = (text: string | undefined): string[] => (text ?? '').split(',').map(s => s.trim()).filter(Boolean)

/**
 * `lilypad contracts deploy`: deploys the token, the settlement contract and (unless told not to)
 * LilypadJobs, through which contracts ask for jobs, with the node's key (WEB3_PRIVATE_KEY or
 * <data-dir>/node.key), which then holds the token's supply, and writes the
 * network's preset (<data-dir>/networks/<name>.json), so that `--network <name>` finds the chain,
 * the contracts and the first peers.
 */
export async function contractsDeploy (flags: DeployFlags, out: Write = t => { process.stdout.write(t) }, err: Write = t => { process.stderr.write(t) }): Promise<number> {
  return await reportRun('contracts deploy', flags, out, err, async () => {
    const name = flags.network
    const rpcUrl = flags.rpcUrl ?? process.env.WEB3_RPC_URL
    if (name === undefined || name === '') throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', 'name the network the preset is for: --network <name>')
    if (rpcUrl === undefined || rpcUrl === '') throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', 'name the chain: --rpc-url (or WEB3_RPC_URL)')
    const delay = flags.withdrawDelay === undefined ? undefined : Number(flags.withdrawDelay)
    if (delay !== undefined && !(Number.isInteger(delay) && delay >= 3600)) throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', `--withdraw-delay takes whole seconds, at least 3600, not ${flags.withdrawDelay}`)
    const [{ loadNodeKey }, { defaultDataDir }, presets, { deployContracts }] = await Promise.all([
      import('../../node/node-key.ts'), import('../../node/settings.ts'), import('../../node/network-presets.ts'), import('../../settlement/deploy.ts')
    ])
    const dataDir = flags.dataDir ?? process.env.DATA_DIR ?? defaultDataDir()
    let file: string
    try {
      file = presets.presetFile(dataDir, name)
    } catch (e) {
      throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', (e as Error).message)
    }
    const key = await loadNodeKey(dataDir, process.env)
    const onchainJobs = flags.onchainJobs !== false
    if (flags.json !== true) err(`deploying the token and settlement contracts${onchainJobs ? ' and LilypadJobs' : ''} on ${rpcUrl} from ${key.address} (the first use compiles them)\n`)
    const deployment = await deployContracts({ rpcUrl, deployerKey: key.privateKey, onchainJobs, ...(delay === undefined ? {} : { withdrawDelaySeconds: delay }) }).catch((e: Error) => {
      throw new CommandFailure(API_EXIT.failed, (e as { code?: string }).code ?? 'FAILED', e.message.split('\n')[0]!)
    })
    const preset = {
      name,
      chainId: deployment.chainId.toString(),
      rpcUrl,
      settlement: deployment.settlement,
      token: deployment.token,
      ...(deployment.onchainJobs === undefined ? {} : { onchainJobs: deployment.onchainJobs }),
      deployBlock: deployment.deployBlock,
      bootstrap: list(flags.bootstrap),
      solvers: list(flags.solvers),
      mediators: list(flags.mediators)
    }
    file = await presets.writePreset(dataDir, preset)
    return {
      json: { ...preset, file, withdrawDelaySeconds: deployment.withdrawDelaySeconds },
      text: [
        `settlement ${deployment.settlement}, token ${deployment.token}${deployment.onchainJobs === undefined ? '' : `, LilypadJobs ${deployment.onchainJobs}`} on chain ${deployment.chainId} (withdrawal delay ${deployment.withdrawDelaySeconds} s)`,
        `preset written to ${file}: nodes started with --network ${name} --data-dir ${dataDir} use it`,
        ''
      ].join('\n')
    }
  })
}

export function registerContracts (program: Command): void {
  const contracts = program.command('contracts').description('the settlement contracts of a network')
  contracts.command('deploy')
    .description('deploy the token, settlement and jobs contracts and write the network\'s preset')
    .requiredOption('--network <name>', 'the network the preset is for (lower-case letters, digits, dashes)')
    .option('--rpc-url <url>', 'the chain\'s JSON-RPC endpoint (WEB3_RPC_URL)')
    .option('--data-dir <dir>', 'where the deployer\'s key is and the preset goes, under networks/ (DATA_DIR; default ~/.lilypad)')
    .option('--withdraw-delay <seconds>', 'how long a withdrawal from escrow waits (default 604800: 7 days)')
    .option('--bootstrap <multiaddrs>', 'comma-separated peers new nodes join through, written into the preset')
    .option('--solvers <addresses>', 'comma-separated solvers nodes trust, written into the preset')
    .option('--mediators <addresses>', 'comma-separated mediators nodes trust, written into the preset')
    .option('--no-onchain-jobs', 'leave out LilypadJobs, through which contracts ask for jobs')
    .option('--json', 'print the preset as JSON (an error as { error, code })')
    .action(async (flags: DeployFlags) => { process.exitCode = await contractsDeploy(flags) })
}
