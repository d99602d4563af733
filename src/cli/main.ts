import { Command, CommanderError } from 'commander'
import { bashCompletion, zshCompletion } from './completion.ts'

import { packageVersion } from '../node/package-version.ts'

export { packageVersion }

type Register = (program: Command) => void

/**
 * Each command's definition, loaded when it is needed: a command run alone loads only its own
 * (`lilypad run` starts in the time a job submission can afford), help and completion load them all.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  audit: async () => (await import('./commands/audit-command.ts')).registerAudit,
  module: async () => (await import('./commands/module.ts')).registerModule,
  results: async () => (await import('./commands/results.ts')).registerResults,
  node: async () => (await import('./commands/node.ts')).registerNode,
  status: async () => (await import('./commands/status.ts')).registerStatus,
  jobs: async () => (await import('./commands/jobs.ts')).registerJobs,
  wallet: async () => (await import('./commands/wallet.ts')).registerWallet,
  contracts: async () => (await import('./commands/contracts.ts')).registerContracts,
  key: async () => (await import('./commands/key.ts')).registerKey,
  run: async () => (await import('./commands/run.ts')).registerRun,
  devnet: async () => (await import('./commands/devnet.ts')).registerDevnet,
  demo: async () => (await import('./commands/demo.ts')).registerDemo,
  onchain: async () => (await import('./commands/onchain.ts')).registerOnchain
}

/** The program with every command, or with `only` the one named (a name it does not know gets them all). */
export async function buildProgram (only?: string): Promise<Command> {
  const program = new Command('lilypad')
    .description('A trustless peer-to-peer compute marketplace: run jobs, provide compute, mediate, audit.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride()
  const names = only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS)
  for (const register of await Promise.all(names.map(name => COMMANDS[name]!()))) register(program)
  program.command('completion')
    .description('print a shell completion script: lilypad completion bash > /etc/bash_completion.d/lilypad')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') program.error(`lilypad completion: bash or zsh, not ${shell}`, { exitCode: USAGE_EXIT, code: 'commander.invalidArgument' })
      process.stdout.write(shell === 'bash' ? bashCompletion(program) : zshCompletion(program))
    })
  return program
}

/** Every usage error (an unknown command or option, a missing argument) exits with this. */
export const USAGE_EXIT = 2


/** Runs the CLI and returns the process exit code; errors a user can cause get one clear line. */
export async function main (argv: string[]): Promise<number> {
  const program = await buildProgram(argv[2])
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      // help asked for, and the version, end with 0; anything else commander refuses is a usage error
      if (err.exitCode === 0) return 0
      // commander has written the reason (and help) on stderr; with --json, one object on stdout too
      if (argv.includes('--json')) process.stdout.write(JSON.stringify({ error: err.message.replace(/^error: /, ''), code: 'USAGE' }) + '\n')
      return USAGE_EXIT
    }
    process.stderr.write(`lilypad: ${(err as Error).message}\n`)
    if (process.env.LILYPAD_DEBUG) process.stderr.write(`${(err as Error).stack}\n`)
    return 1
  }
}
