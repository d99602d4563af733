import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { JobError } from '../../node/jobs/job-errors.ts'
import type { JobPhase, JobResult } from '../../node/jobs/job-on-node.ts'
import type { RunJobOptions } from '../../node/jobs/job-client.ts'
import { runJobOnNode } from '../../client/http-client.ts'
import type { DevnetInfo } from '../../devnet/devnet.ts'
import { defaultDevnetDir } from './devnet.ts'
import { DEFAULT_MEDIATION_CHANCE } from '../../node/jobs/check-rate.ts'
import { LIMITS } from '../../protocols/messages/limits.ts'

export interface RunFlags {
  input: string[]
  network: string
  devnetDir?: string
  mediationChance?: string
  maxPrice?: string
  matchWithin?: string
  agreeWithin?: string
  inputsPath?: string
  quorum?: string
  submitWithin?: string
  /** a running job-creator node's API to submit to (LILYPAD_NODE_API) */
  node?: string
  /** with a node to submit to: wait until the node has settled the deal on chain, not only until the results are verified */
  waitSettled?: boolean
  json?: boolean
}

/** Exit codes of `lilypad run`: what went wrong, for scripts. */
export const RUN_EXIT = { ok: 0, failed: 1, badInput: 2, noMatch: 3, noDeposit: 4, noNetwork: 5 } as const

function parseInputs (pairs: string[]): Record<string, string> {
  const inputs: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new JobError('FAILED', `-i takes KEY=VALUE, not ${JSON.stringify(pair)}`)
    inputs[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return inputs
}

async function loadDevnet (dir: string): Promise<DevnetInfo> {
  const file = join(dir, 'devnet.json')
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DevnetInfo
  } catch {
    throw new JobError('NO_PEERS', `no devnet found at ${file}: start one with \`lilypad devnet\``)
  }
}

const LABEL: Record<JobPhase, string> = {
  offered: 'offered', matched: 'matched', agreed: 'agreed, running', results: 'results', verifying: 'verifying', verified: 'verified', settled: 'settled'
}

export async function runCommand (module: string, flags: RunFlags, out = (t: string) => process.stdout.write(t), err = (t: string) => process.stderr.write(t)): Promise<number> {
  // with --json, every ending prints one JSON object on stdout, a refusal of bad input too
  const refuse = (message: string): number => {
    if (flags.json === true) out(JSON.stringify({ error: message, code: 'BAD_INPUT' }) + '\n')
    err(`lilypad run: ${message}\n`)
    return RUN_EXIT.badInput
  }
  // a percentage, as Lilypad's own flag and MEDIATION_CHANCE take it
  const percent = Number(flags.mediationChance ?? process.env.MEDIATION_CHANCE ?? DEFAULT_MEDIATION_CHANCE)
  if (!(percent >= 0 && percent <= 100)) {
    return refuse(`--mediation-chance is a percentage, from 0 to 100, not ${flags.mediationChance ?? process.env.MEDIATION_CHANCE}`)
  }
  const matchWithinMs = flags.matchWithin === undefined ? undefined : Number(flags.matchWithin)
  if (matchWithinMs !== undefined && !(Number.isInteger(matchWithinMs) && matchWithinMs > 0)) {
    return refuse(`--match-within takes a whole number of milliseconds, not ${flags.matchWithin}`)
  }
  const inputsPath = flags.inputsPath === undefined ? undefined : resolve(flags.inputsPath)
  const agreeWithinMs = flags.agreeWithin === undefined ? undefined : Number(flags.agreeWithin)
  if (agreeWithinMs !== undefined && !(Number.isInteger(agreeWithinMs) && agreeWithinMs > 0 && agreeWithinMs <= 86_400_000)) {
    return refuse(`--agree-within takes a whole number of milliseconds, at most a day, not ${flags.agreeWithin}`)
  }
  const submitWithinMs = flags.submitWithin === undefined ? undefined : Number(flags.submitWithin)
  if (submitWithinMs !== undefined && !(Number.isInteger(submitWithinMs) && submitWithinMs > 0)) {
    return refuse(`--submit-within takes a whole number of milliseconds, not ${flags.submitWithin}`)
  }
  const quorum = flags.quorum === undefined ? undefined : Number(flags.quorum)
  if (quorum !== undefined && !(Number.isInteger(quorum) && quorum >= 1 && quorum <= LIMITS.mediators)) {
    return refuse(`--quorum takes a whole number of mediators, from 1 to ${LIMITS.mediators}, not ${flags.quorum}`)
  }
  let inputs: Record<string, string>
  try {
    inputs = parseInputs(flags.input)
  } catch (e) {
    return refuse((e as Error).message)
  }
  if (flags.maxPrice !== undefined && !/^[0-9]+$/.test(flags.maxPrice)) {
    return refuse(`--max-price takes a whole number of wei, not ${flags.maxPrice}`)
  }
  const onPhase = flags.json === true ? undefined : (phase: JobPhase, detail: Record<string, unknown>) => err(`  ${(LABEL[phase] ?? phase).padEnd(16)} ${Object.entries(detail).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`)
  const until = flags.waitSettled === true ? 'settled' : 'verified'
  try {
    let result: JobResult
    const api = flags.node ?? process.env.LILYPAD_NODE_API
    if (api !== undefined && api !== '') {
      result = await runJobOnNode(api, { module, inputs, mediationChance: percent, maxPrice: flags.maxPrice, matchWithinMs, agreeWithinMs, submitWithinMs, inputsPath, quorum }, onPhase, until)
    } else if (flags.network !== 'devnet') {
      result = await runOnPreset(module, inputs, flags.network, {
        checkRate: percent / 100, maxPrice: flags.maxPrice === undefined ? undefined : BigInt(flags.maxPrice), matchWithinMs, agreeWithinMs, submitWithinMs, inputsPath, quorum, onPhase
      }, err)
    } else {
      const dir = resolve(flags.devnetDir ?? defaultDevnetDir())
      const devnet = await loadDevnet(dir)
      // the devnet's job-creator node takes the job, unless it must be signed by a key of one's own
      if (devnet.jobCreatorApi !== undefined && process.env.WEB3_PRIVATE_KEY === undefined) {
        result = await runJobOnNode(devnet.jobCreatorApi, { module, inputs, mediationChance: percent, maxPrice: flags.maxPrice, matchWithinMs, agreeWithinMs, submitWithinMs, inputsPath, quorum }, onPhase, until)
      } else {
        // the node stack loads only for a job run from a node of its own
        const [{ runJob }, { devnetJobOptions }] = await Promise.all([import('../../node/jobs/job-client.ts'), import('../../devnet/devnet.ts')])
        result = await runJob({
          module,
          inputs,
          dataDir: process.env.DATA_DIR ?? join(dir, 'job-creator'),
          ...devnetJobOptions(devnet),
          privateKey: process.env.WEB3_PRIVATE_KEY ?? devnet.jobCreatorKey,
          checkRate: percent / 100,
          maxPrice: flags.maxPrice === undefined ? undefined : BigInt(flags.maxPrice),
          matchWithinMs,
          agreeWithinMs,
          submitWithinMs,
          inputsPath,
          quorum,
          onPhase,
          onNotice: (line) => err(`lilypad run: ${line}\n`)
        })
      }
    }
    out(flags.json === true ? JSON.stringify(result) + '\n' : describe(result))
    return RUN_EXIT.ok
  } catch (e) {
    const code = (e as { code?: string }).code
    if (flags.json === true) out(JSON.stringify(e instanceof JobError && e.result !== undefined ? { ...e.result, error: e.message, code } : { error: (e as Error).message, code: code ?? 'FAILED' }) + '\n')
    err(`lilypad run: ${(e as Error).message}\n`)
    switch (code) {
      case 'NO_MATCH': return RUN_EXIT.noMatch
      case 'NO_DEPOSIT': return RUN_EXIT.noDeposit
      case 'NO_PEERS': return RUN_EXIT.noNetwork
      case 'BAD_INPUT':
      case 'MODULE_REF_INVALID': case 'MODULE_REPO_NOT_FOUND': case 'MODULE_REF_NOT_FOUND': case 'MODULE_TEMPLATE_NOT_FOUND':
      case 'MODULE_SOURCE_REFUSED': case 'MODULE_REPO_TOO_LARGE':
      case 'TEMPLATE_PARSE': case 'TEMPLATE_EXEC': case 'MODULE_JSON_INVALID': case 'TEMPLATE_BUDGET_EXCEEDED':
        return RUN_EXIT.badInput
      default: return RUN_EXIT.failed
    }
  }
}

/**
 * A job on a network named by its preset (<DATA_DIR>/networks/<name>.json, `lilypad contracts
 * deploy`), from a job-creator node of its own in DATA_DIR, under the key there (or WEB3_PRIVATE_KEY).
 */
async function runOnPreset (module: string, inputs: Record<string, string>, network: string, terms: Pick<RunJobOptions, 'checkRate' | 'maxPrice' | 'matchWithinMs' | 'agreeWithinMs' | 'submitWithinMs' | 'inputsPath' | 'quorum' | 'onPhase'>, err: (t: string) => void): Promise<JobResult> {
  const [{ loadPreset }, { defaultDataDir }, { loadNodeKey }, { runJob }] = await Promise.all([
    import('../../node/network-presets.ts'), import('../../node/settings.ts'), import('../../node/node-key.ts'), import('../../node/jobs/job-client.ts')
  ])
  const dataDir = process.env.DATA_DIR ?? defaultDataDir()
  const preset = loadPreset(dataDir, network)
  if (preset === undefined) throw new JobError('NO_PEERS', `no network ${network} is known here: devnet, or a preset in ${join(dataDir, 'networks')} (lilypad contracts deploy writes one)`)
  if (preset.solvers.length === 0) throw new JobError('BAD_INPUT', `the preset of network ${network} names no solvers to trust`)
  const key = await loadNodeKey(dataDir, process.env)
  return await runJob({
    module,
    inputs,
    dataDir,
    privateKey: key.privateKey,
    network,
    rpcUrl: preset.rpcUrl,
    settlementAddress: preset.settlement,
    bootstrap: preset.bootstrap,
    solvers: preset.solvers,
    mediators: preset.mediators,
    ...terms,
    onNotice: (line) => err(`lilypad run: ${line}\n`)
  })
}

function describe (result: JobResult): string {
  return [
    `deal ${result.dealId ?? '-'}: ${result.outcome}${result.checked === true ? ' (results re-run and checked)' : ''}${result.settled ? ', settled on chain' : ''}`,
    `results ${result.resultsCid ?? '-'} in ${result.resultsDir ?? '-'}`,
    '',
    result.stdout ?? '(no stdout)',
    ''
  ].join('\n')
}

export function registerRun (program: Command): void {
  program.command('run')
    .description('run a module on the network and print its results')
    .argument('<module>', 'cowsay:v0.0.1, github.com/owner/repo:ref, or a local repository path:ref')
    .option('-i, --input <KEY=VALUE>', 'a module input (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--network <name>', 'the network to run on: devnet, or one with a preset in <DATA_DIR>/networks (lilypad contracts deploy)', 'devnet')
    .option('--devnet-dir <dir>', 'where `lilypad devnet` wrote devnet.json (default ~/.lilypad/devnet)')
    .option('--mediation-chance <percent>', `the chance, in percent, that the results are re-run to check them (MEDIATION_CHANCE; default ${DEFAULT_MEDIATION_CHANCE}, the smallest at which making results up does not pay)`)
    .option('--max-price <wei>', 'the most this job may cost')
    .option('--match-within <ms>', 'how long to look for a provider before giving up (default 60000)')
    .option('--inputs-path <dir>', 'a folder of input data: served from the job creator\'s node, mounted read-only at /inputs')
    .option('--agree-within <ms>', 'how long the parties have to sign once matched, the provider\'s module fetch and image pull included (default 30000)')
    .option('--submit-within <ms>', 'how long the provider has to submit results (default: the module\'s timeout plus 7 minutes)')
    .option('--quorum <k>', 'how many of the deal\'s mediators must agree to settle a challenge; each one re-runs the job and is paid the mediator fee (default 1: one judge, drawn by the chain)')
    .option('--node <api-url>', 'submit to a running job-creator node\'s API (LILYPAD_NODE_API; default: the devnet\'s, if it has one)')
    .option('--wait-settled', 'with a node to submit to: wait until it has settled the deal on chain too (by default the command ends once the results are verified, and the node settles on its own)')
    .option('--json', 'print one machine-readable result')
    .action(async (module: string, flags: RunFlags) => {
      process.exitCode = await runCommand(module, flags)
    })
}
