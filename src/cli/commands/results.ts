import { resolve } from 'node:path'
import type { Command } from 'commander'
import { reportRun, type Write } from './node-api-flags.ts'

const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
const stdout: Write = t => { process.stdout.write(t) }
const stderr: Write = t => { process.stderr.write(t) }

/** `lilypad results cid <dir>`: the CID `ipfs add -r` would print, to check downloaded results by hand. */
export function registerResults (program: Command): void {
  const results = program.command('results').description('Inspect job results')
  results.command('cid')
    .description('print the CID of a results folder (or file), as `ipfs add -r` with default settings prints it')
    .argument('<path>', 'a results folder or a file')
    .option('--json', 'print { cid } (an error as { error, code })')
    .action(async (path: string, flags: { json?: boolean }) => {
      process.exitCode = await reportRun('results cid', flags, stdout, stderr, async () => {
        const { cidOfPath } = await import('../../executor/results/cid.ts')
        const cid = (await cidOfPath(path)).toString()
        return { json: { cid }, text: `${cid}\n` }
      })
    })
  results.command('get')
    .description('fetch results again by CID from a node\'s results gateway, checking every block against the CID')
    .argument('<cid>', 'the results CID (from the deal, `lilypad run --json`, or the chain)')
    .requiredOption('--from <url>', 'a results gateway, e.g. a provider\'s http://host:port (LILYPAD_RESULTS_PORT on that node)')
    .option('--out <dir>', 'where to write them (default ./downloaded-files/<cid>)')
    .option('--max-bytes <n>', 'refuse results larger than this (default 1 GiB)')
    .option('--json', 'print { cid, dir, ms } (an error as { error, code })')
    .action(async (cidText: string, flags: { from: string, out?: string, maxBytes?: string, json?: boolean }) => {
      process.exitCode = await reportRun('results get', flags, stdout, stderr, async () => {
        const [{ parseCid }, { fetchResultsOverHttp }] = await Promise.all([import('../../executor/results/cid.ts'), import('../../executor/results/http-fetch.ts')])
        const cid = parseCid(cidText)
        const maxBytes = flags.maxBytes === undefined ? DEFAULT_MAX_BYTES : Number(flags.maxBytes)
        if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new Error(`--max-bytes takes a whole number of bytes, not ${flags.maxBytes}`)
        const out = resolve(flags.out ?? `downloaded-files/${cid}`)
        const started = Date.now()
        await fetchResultsOverHttp(flags.from, cid, out, { maxBytes })
        const ms = Date.now() - started
        if (flags.json !== true) stderr(`results ${cid} fetched from ${flags.from} and verified in ${ms} ms\n`)
        return { json: { cid: cid.toString(), dir: out, ms }, text: `${out}\n` }
      })
    })
}

