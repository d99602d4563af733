import { Command, CommanderError } from 'commander'
import { registerAudit } from './commands/audit-command.ts'
import { registerModule } from './commands/module.ts'
import { registerResults } from './commands/results.ts'
import { registerNode } from './commands/node.ts'
import { registerDevnet } from './commands/devnet.ts'
import { registerRun } from './commands/run.ts'
import { registerDemo } from './commands/demo.ts'
import { registerStatus } from './commands/status.ts'
import { registerJobs } from './commands/jobs.ts'
import { registerWallet } from './commands/wallet.ts'
import { registerContracts } from './commands/contracts.ts'
import { registerKey } from './commands/key.ts'
import { bashCompletion, zshCompletion } from './completion.ts'

import { packageVersion } from '../node/package-version.ts'

export { packageVersion }

export function buildProgram (): Command {
  const program = new Command('lilypad')
    .description('A trustless peer-to-peer compute marketplace: run jobs, provide compute, mediate, audit.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride()
  registerAudit(program)
  registerModule(program)
  registerResults(program)
  registerNode(program)
  registerStatus(program)
  registerJobs(program)
  registerWallet(program)
  registerContracts(program)
  registerKey(program)
  registerRun(program)
  registerDevnet(program)
  registerDemo(program)
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
  const program = buildProgram()
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
