import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import type { DevnetInfo } from '../../devnet/devnet.ts'
import { defaultDevnetDir } from './devnet.ts'
import { API_EXIT, CommandFailure, reportRun, type Write } from './node-api-flags.ts'

interface OnchainRunFlags { devnetDir?: string, timeout: string, json?: boolean }

const COWSAY_REPO = 'github.com/Lilypad-Tech/lilypad-module-cowsay'
const PAYMENT = 5n * 10n ** 15n
const RELAYER_FEE = 10n ** 14n

/**
 * `lilypad onchain run [message]`: the round trip of a job asked for by a contract, on a devnet with
 * relayers. It deploys the example contract (ExampleCowsayClient) from the devnet's job-creator
 * account, funds it, asks LilypadJobs for cowsay, and waits until a relayer delivers and the contract
 * is called back with the results' CID and the cow itself, read on chain from the job's stdout.
 */
export async function onchainRun (message: string, flags: OnchainRunFlags, out: Write = t => { process.stdout.write(t) }, err: Write = t => { process.stderr.write(t) }): Promise<number> {
  return await reportRun('onchain run', flags, out, err, async () => {
    const timeoutMs = Number(flags.timeout)
    if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', `--timeout takes whole milliseconds, not ${flags.timeout}`)
    const dir = resolve(flags.devnetDir ?? defaultDevnetDir())
    const info = await readFile(join(dir, 'devnet.json'), 'utf8').then(t => JSON.parse(t) as DevnetInfo).catch(() => undefined)
    if (info === undefined) throw new CommandFailure(API_EXIT.noNode, 'NO_PEERS', `no devnet found at ${join(dir, 'devnet.json')}: start one with \`lilypad devnet\``)
    if (info.onchainJobs === undefined) throw new CommandFailure(API_EXIT.noNode, 'NO_RELAYERS', 'this devnet has no relayers: start it with `lilypad devnet --relayers 1`')
    const [{ OnchainJobsClient }, { ExampleCowsayClient }, { loadModule }, { userModuleSchemes }] = await Promise.all([
      import('../../settlement/onchain-jobs.ts'), import('../../settlement/example-client.ts'), import('../../executor/modules/load.ts'), import('../../executor/modules/sources.ts')
    ])
    // the commit the providers run: the devnet's cowsay, found through its mirror as they find it
    const module = await loadModule({ ref: `${COWSAY_REPO}:v0.0.1`, inputs: { Message: message }, cacheDir: join(dir, 'onchain-modules'), mirrors: info.mirrors, allowedSchemes: userModuleSchemes() })
    const jobs = await OnchainJobsClient.open({ rpcUrl: info.rpcUrl, privateKey: process.env.WEB3_PRIVATE_KEY ?? info.jobCreatorKey, jobsAddress: info.onchainJobs })
    try {
      const started = Date.now()
      const example = await ExampleCowsayClient.deploy(jobs)
      await example.fund(PAYMENT)
      if (flags.json !== true) err(`  deployed       ExampleCowsayClient ${example.address}\n`)
      const { requestId } = await example.ask({ moduleRepo: module.repo, moduleCommit: module.commit, message, payment: PAYMENT, relayerFee: RELAYER_FEE, deadline: Date.now() + timeoutMs, claimWindow: Math.min(timeoutMs, 300_000) })
      if (flags.json !== true) err(`  requested      ${requestId}\n`)
      for (;;) {
        const cid = await example.resultsCidOf(requestId)
        if (cid !== undefined) {
          const [result, cow] = await Promise.all([jobs.resultOf(requestId), example.cowOf(requestId)])
          const ms = Date.now() - started
          return {
            json: { requestId, contract: example.address, resultsCid: cid, cow: cow ?? '', dealId: result?.dealId, relayer: result?.relayer, ms },
            text: `${cow ?? ''}${cow?.endsWith('\n') === false ? '\n' : ''}the contract was called back in ${ms} ms: results ${cid} (deal ${result?.dealId ?? '-'}, relayed by ${result?.relayer ?? '-'})\n`
          }
        }
        if (await example.cancelled(requestId)) throw new CommandFailure(API_EXIT.failed, 'REFUNDED', `request ${requestId} was refunded: no deal settled by its deadline (a relayer takes a request only when its deal, the module's timeout included, can settle within the claim window: try a longer --timeout)`)
        if (Date.now() - started > timeoutMs + 30_000) throw new CommandFailure(API_EXIT.failed, 'TIMEOUT', `request ${requestId} was not delivered within ${timeoutMs} ms`)
        await new Promise(resolve => setTimeout(resolve, 500))
      }
    } finally {
      await jobs.close()
    }
  })
}

export function registerOnchain (program: Command): void {
  const onchain = program.command('onchain').description('jobs asked for by smart contracts (LilypadJobs), relayed by job-creator nodes')
  onchain.command('run')
    .description('on a devnet with relayers: deploy the example contract, have it ask for cowsay, and wait for its callback with the results CID and the cow')
    .argument('[message]', 'what the cow says', 'hello from a contract')
    .option('--devnet-dir <dir>', 'where `lilypad devnet` wrote devnet.json (default ~/.lilypad/devnet)')
    .option('--timeout <ms>', 'the request\'s deadline, from now', '120000')
    .option('--json', 'print one machine-readable result')
    .action(async (message: string, flags: OnchainRunFlags) => { process.exitCode = await onchainRun(message, flags) })
}
