import type { Command } from 'commander'

/** `lilypad audit`: its implementation (the log, the machines) loads only when it runs. */
export function registerAudit (program: Command): void {
  const audit = program.command('audit')
    .description('verify a node\'s event log offline: hash chain, checkpoint signatures, and that replay reproduces every output')
    .argument('<data-dir>', 'the node\'s data directory (or its log folder)')
    .option('--deal <id>', 'print the history of one deal: its deal id, or the job offer id it was made for (or a stream name)')
    .option('--rpc-url <url>', 'also hold the log against the chain: its settled deals, and every payment, commitment and case of this node on chain')
    .option('--settlement <address>', 'the settlement contract, with --rpc-url')
    .option('--from-block <n>', 'with --rpc-url: read the chain\'s events from this block on (default 0: the whole chain)')
    .option('--format <format>', 'text (default), json, or md: a document with a summary, a table of the deals and the findings')
    .option('--json', 'print the report as JSON (--format json)')
    .action(async (dataDir: string, options: { deal?: string, json?: boolean, format?: string, rpcUrl?: string, settlement?: string, fromBlock?: string }) => {
      const { runAudit } = await import('./audit.ts')
      process.exitCode = await runAudit(dataDir, options)
    })
  audit.command('deal')
    .description('check that the logs of a deal\'s parties agree on it: terms, signed messages byte for byte, results and outcome; each log must audit too')
    .argument('<deal-id>', 'the deal id (or the job offer id it was made for)')
    .argument('<data-dir...>', 'the data directories of the parties whose logs hold the deal')
    .option('--json', 'print the report as JSON')
    .action(async (dealId: string, dataDirs: string[], _options: { json?: boolean }, command: Command) => {
      const { runDealAudit } = await import('./audit.ts')
      process.exitCode = await runDealAudit(dealId, dataDirs, command.optsWithGlobals())
    })
}
