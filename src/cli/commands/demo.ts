import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import type { JobPhase } from '../../node/jobs/job-on-node.ts'
import { DEFAULT_MEDIATION_CHANCE } from '../../node/jobs/check-rate.ts'

/**
 * `npm run demo`: a whole local network (dev chain, two providers, two solvers, a mediator) runs
 * cowsay for a job creator, the deal settles on chain, and every node's log is audited.
 */
export async function runDemo (options: { dir?: string, message: string, engine?: 'docker' | 'wasm', json?: boolean }): Promise<number> {
  // with --json the story goes to stderr, and stdout gets one object at the end
  const write = (text: string): void => { (options.json === true ? process.stderr : process.stdout).write(text) }
  const say = (line: string): void => { write(`${line}\n`) }
  const indented = (text: string): void => { write(text.replace(/^(?=.)/gm, '  ')) }
  const summary: { ok: boolean, dealId: string | null, outcome: string | null, resultsCid: string | null, stdout: string | null, audits: Record<string, boolean> } =
    { ok: false, dealId: null, outcome: null, resultsCid: null, stdout: null, audits: {} }
  const dir = options.dir ?? await mkdtemp(join(tmpdir(), 'lilypad-demo-'))
  const [{ startDemoNetwork }, { runJob }, { devnetJobOptions }, { EventLog }, { auditLog }, { roleDefinitions }, { runDealAudit, runAudit }] = await Promise.all([
    import('../demo/demo-network.ts'), import('../../node/jobs/job-client.ts'), import('../../devnet/devnet.ts'),
    import('../../actors/eventlog/event-log.ts'), import('../../actors/audit.ts'), import('../definitions.ts'), import('./audit.ts')
  ])
  say(`lilypad demo: a local network in ${dir}`)
  const network = await startDemoNetwork({ dir: join(dir, 'devnet'), engine: options.engine, log: (line) => say(`  ${line}`) })
  const { info } = network
  let ok = false
  let deal: { id: string, provider: string | null } | undefined
  const jobDir = join(dir, 'job-creator')
  try {
    say(`\n$ lilypad run cowsay:v0.0.1 -i Message=${options.message}   (on ${network.engine === 'docker' ? 'Docker' : 'WASM'})`)
    const result = await runJob({
      module: 'cowsay:v0.0.1',
      inputs: { Message: options.message },
      dataDir: jobDir,
      ...devnetJobOptions(info),
      // as `lilypad run` does: the results are checked at the default rate
      checkRate: DEFAULT_MEDIATION_CHANCE / 100,
      onPhase: (phase: JobPhase, detail) => say(`  ${phase.padEnd(10)} ${Object.entries(detail).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`)
    })
    say(`\ndeal ${result.dealId}: ${result.outcome}${result.checked === true ? ' (checked by running it again)' : ''}${result.settled ? ', settled on chain' : ''}; results ${result.resultsCid}`)
    say(result.stdout ?? '(no stdout)')
    Object.assign(summary, { dealId: result.dealId, outcome: result.outcome, resultsCid: result.resultsCid, stdout: result.stdout })
    ok = result.outcome === 'Accepted'
    if (result.dealId !== null) deal = { id: result.dealId, provider: result.provider }
    // the job creator's log against the chain, while the chain runs
    say(`\n$ lilypad audit <the job creator's data dir> --rpc-url ${info.rpcUrl} --settlement ${info.settlementAddress}`)
    const onChain = await runAudit(jobDir, { rpcUrl: info.rpcUrl, settlement: info.settlementAddress }, roleDefinitions(), indented)
    ok &&= onChain === 0
  } finally {
    say('stopping the network')
    await network.stop()
  }
  say('\n$ lilypad audit <each node\'s data dir>')
  for (const [name, dataDir] of [...info.nodes.map(n => [n.name, n.dataDir] as const), ['job-creator', jobDir] as const]) {
    const log = await EventLog.open(join(dataDir, 'log'), { inspect: true })
    const report = await auditLog(log, roleDefinitions())
    await log.close()
    const deals = report.streams.map(s => `${s.stream.startsWith('job:') ? 'job' : s.stream}`).join(', ')
    say(`  ${name.padEnd(12)} ${report.ok ? 'OK    ' : 'FAILED'} ${String(report.records).padStart(5)} records, ${report.replayed.outputs} outputs replayed exactly  [${deals}]${report.failure === undefined ? '' : `  record ${report.failure.seq}: ${report.failure.reason}`}`)
    ok &&= report.ok
    summary.audits[name] = report.ok
  }
  // the two parties' logs of the deal, held against each other
  const provider = info.nodes.find(n => n.address.toLowerCase() === deal?.provider?.toLowerCase())
  if (deal !== undefined && provider !== undefined) {
    say(`\n$ lilypad audit deal ${deal.id} <the job creator's and ${provider.name}'s data dirs>`)
    const code = await runDealAudit(deal.id, [jobDir, provider.dataDir], {}, roleDefinitions(), indented)
    ok &&= code === 0
  } else ok = false
  if (options.json === true) process.stdout.write(JSON.stringify({ ...summary, ok }) + '\n')
  say(ok ? '\ndemo finished: the job ran, was paid for on chain, every log audits, the job creator\'s holds against the chain, and the two parties\' logs of the deal agree.' : '\ndemo FAILED')
  return ok ? 0 : 1
}

export function registerDemo (program: Command): void {
  program.command('demo')
    .description('start a local network, run cowsay through it, print the result and audit every node')
    .option('--dir <dir>', 'keep the network\'s files here (default: a new temporary folder)')
    .option('--message <text>', 'what the cow says', 'moo')
    .option('--engine <engine>', 'docker or wasm (default: docker when an engine answers)')
    .option('--json', 'tell the story on stderr and print one object at the end: { ok, dealId, outcome, resultsCid, stdout, audits }')
    .action(async (flags: { dir?: string, message: string, engine?: 'docker' | 'wasm', json?: boolean }) => {
      process.exitCode = await runDemo(flags)
    })
}
