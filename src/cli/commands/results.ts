import { resolve } from 'node:path'
import type { Command } from 'commander'

const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024

/** `lilypad results cid <dir>`: the CID `ipfs add -r` would print, to check downloaded results by hand. */
export function registerResults (program: Command): void {
  const results = program.command('results').description('Inspect job results')
  results.command('cid')
    .description('print the CID of a results folder (or file), as `ipfs add -r` with default settings prints it')
    .argument('<path>', 'a results folder or a file')
    .action(async (path: string) => {
      try {
        const { cidOfPath } = await import('../../executor/results/cid.ts')
        process.stdout.write(`${(await cidOfPath(path)).toString()}\n`)
      } catch (err) {
        process.stderr.write(`lilypad results cid: ${(err as Error).message}\n`)
        process.exitCode = 1
      }
    })
  results.command('get')
    .description('fetch results again by CID from a node\'s results gateway, checking every block against the CID')
    .argument('<cid>', 'the results CID (from the deal, `lilypad run --json`, or the chain)')
    .requiredOption('--from <url>', 'a results gateway, e.g. a provider\'s http://host:port (LILYPAD_RESULTS_PORT on that node)')
    .option('--out <dir>', 'where to write them (default ./downloaded-files/<cid>)')
    .option('--max-bytes <n>', 'refuse results larger than this (default 1 GiB)')
    .action(async (cidText: string, flags: { from: string, out?: string, maxBytes?: string }) => {
      try {
        const [{ parseCid }, { fetchResultsOverHttp }] = await Promise.all([import('../../executor/results/cid.ts'), import('../../executor/results/http-fetch.ts')])
        const cid = parseCid(cidText)
        const maxBytes = flags.maxBytes === undefined ? DEFAULT_MAX_BYTES : Number(flags.maxBytes)
        if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new Error(`--max-bytes takes a whole number of bytes, not ${flags.maxBytes}`)
        const out = resolve(flags.out ?? `downloaded-files/${cid}`)
        const started = Date.now()
        await fetchResultsOverHttp(flags.from, cid, out, { maxBytes })
        process.stderr.write(`results ${cid} fetched from ${flags.from} and verified in ${Date.now() - started} ms\n`)
        process.stdout.write(`${out}\n`)
      } catch (err) {
        process.stderr.write(`lilypad results get: ${(err as Error).message.split('\n')[0]}\n`)
        process.exitCode = 1
      }
    })
}
