import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { registerAudit } from './commands/audit-command.ts'
import { registerModule } from './commands/module.ts'
import { registerResults } from './commands/results.ts'
import { registerNode } from './commands/node.ts'
import { registerDevnet } from './commands/devnet.ts'
import { registerRun } from './commands/run.ts'
import { registerDemo } from './commands/demo.ts'
import { registerStatus } from './commands/status.ts'

/** The version of the package this command comes from. */
export function packageVersion (): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
}

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
  registerRun(program)
  registerDevnet(program)
  registerDemo(program)
  return program
}

/** Runs the CLI and returns the process exit code; errors a user can cause get one clear line. */
export async function main (argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode
    process.stderr.write(`lilypad: ${(err as Error).message}\n`)
    if (process.env.LILYPAD_DEBUG) process.stderr.write(`${(err as Error).stack}\n`)
    return 1
  }
}
