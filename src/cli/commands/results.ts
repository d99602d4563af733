import type { Command } from 'commander'
import { cidOfPath } from '../../executor/results/cid.ts'

/** `lilypad results cid <dir>`: the CID `ipfs add -r` would print, to check downloaded results by hand. */
export function registerResults (program: Command): void {
  const results = program.command('results').description('Inspect job results')
  results.command('cid')
    .description('print the CID of a results folder (or file), as `ipfs add -r` with default settings prints it')
    .argument('<path>', 'a results folder or a file')
    .action(async (path: string) => {
      try {
        process.stdout.write(`${(await cidOfPath(path)).toString()}\n`)
      } catch (err) {
        process.stderr.write(`lilypad results cid: ${(err as Error).message}\n`)
        process.exitCode = 1
      }
    })
}
