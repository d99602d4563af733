import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'

export function defaultDevnetDir (env: NodeJS.ProcessEnv = process.env): string {
  return env.LILYPAD_DEVNET_DIR ?? join(env.DATA_DIR ?? join(homedir(), '.lilypad'), 'devnet')
}

interface DevnetFlags { dir?: string, providers: string, solvers: string, mediators: string, relayers: string, engine?: 'docker' | 'wasm', json?: boolean }

export function registerDevnet (program: Command): void {
  program.command('devnet')
    .description('start a local chain with the contracts deployed and funded accounts, and a mesh covering every role')
    .option('--dir <dir>', 'where the devnet keeps its nodes and devnet.json (default ~/.lilypad/devnet)')
    .option('--providers <n>', 'resource providers', '2')
    .option('--solvers <n>', 'solvers', '2')
    .option('--mediators <n>', 'mediators', '1')
    .option('--relayers <n>', 'job-creator nodes that relay the jobs contracts ask for on chain (LilypadJobs; `lilypad onchain run`)', '1')
    .option('--engine <engine>', 'what cowsay runs on: docker or wasm (default: docker when an engine answers)')
    .option('--json', 'once it is up, print what devnet.json holds as one line of JSON')
    .action(async (flags: DevnetFlags) => {
      const dir = resolve(flags.dir ?? defaultDevnetDir())
      const { startDemoNetwork } = await import('../demo/demo-network.ts')
      const devnet = await startDemoNetwork({
        dir,
        providers: Number(flags.providers),
        solvers: Number(flags.solvers),
        mediators: Number(flags.mediators),
        relayers: Number(flags.relayers),
        engine: flags.engine,
        jobCreatorNode: true,
        log: (line) => process.stderr.write(`devnet: ${line}\n`)
      })
      const { info } = devnet
      if (flags.json === true) process.stdout.write(JSON.stringify(info) + '\n')
      else process.stdout.write([
        `devnet is up: chain ${info.rpcUrl} (id ${info.chainId}), settlement ${info.settlementAddress}`,
        ...info.nodes.map(n => `  ${n.name.padEnd(12)} ${n.address}  ${n.multiaddrs[0] ?? ''}`),
        ...(info.jobCreatorApi === undefined ? [] : [`the job-creator node takes jobs at ${info.jobCreatorApi} (POST /jobs)`]),
        ...(info.onchainJobs === undefined ? [] : [`contracts ask for jobs at LilypadJobs ${info.onchainJobs}: \`lilypad onchain run\` shows one round trip`]),
        `written to ${join(dir, 'devnet.json')}; in another shell:`,
        `  npx lilypad run cowsay:v0.0.1 -i Message=moo${flags.dir === undefined ? '' : ` --devnet-dir ${dir}`}`,
        'Ctrl-C stops it.',
        ''
      ].join('\n'))
      await new Promise<void>((done) => {
        process.once('SIGINT', () => done())
        process.once('SIGTERM', () => done())
      })
      process.stderr.write('devnet: stopping\n')
      await devnet.stop()
    })
}
