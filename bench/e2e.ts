// npm run bench -- e2e: a job through a whole devnet (dev chain, two one-slot providers, two
// solvers, a mediator and a job-creator node, each its own process; cowsay on Docker) against a
// bare `docker run` of the same image in the same run, submitted to the running job-creator node
// (`lilypad run --node`) and, for comparison, from a node started for the job (`runJob`); how long
// matching takes and where that time goes; and how many deals a minute the devnet's providers
// sustain when job creators keep them busy.
import '../src/polyfills.ts'
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startDemoNetwork, type DemoNetwork } from '../src/cli/demo/demo-network.ts'
import { ensureCowsayImage } from '../src/cli/demo/demo-modules.ts'
import { runJob, type JobResult } from '../src/node/jobs/job-client.ts'
import { runJobOnNode } from '../src/client/http-client.ts'
import { devnetJobOptions } from '../src/devnet/devnet.ts'
import type { InputData, OpenData, OutputData } from '../src/actors/runtime/records.ts'
import { readLiveLog, readLog, type NodeLog } from '../test/e2e/network/node-logs.ts'
import { installPackage } from './installed-package.ts'
import { report, round } from './report.ts'

const exec = promisify(execFile)
/** sequential runs, each beside a bare `docker run` */
const ROUNDS = 3
/** job creators that keep the providers busy, and the jobs each runs back to back */
const CREATORS = 4
const JOBS_EACH = 3

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function bareDockerRun (imageId: string, message: string): Promise<number> {
  const started = performance.now()
  await exec('docker', ['run', '--rm', '--network', 'none', '--entrypoint', '/usr/local/bin/cowsay', imageId, message])
  return performance.now() - started
}

function cowsay (net: DemoNetwork, creator: number, message: string, dataDir: string): Promise<JobResult> {
  const { info } = net
  return runJob({
    module: 'cowsay:v0.0.1',
    inputs: { Message: message },
    dataDir,
    ...devnetJobOptions(info, creator)
  })
}

/** cowsay submitted to the devnet's running job-creator node, through its API */
function cowsayOnNode (net: DemoNetwork, message: string): Promise<JobResult> {
  return runJobOnNode(net.info.jobCreatorApi!, { module: 'cowsay:v0.0.1', inputs: { Message: message }, mediationChance: 0 }, undefined, 'settled')
}

interface MatchSteps {
  /** the offer logged by the creator → the first solver logs it (gossip) */
  gossip: number
  /** the first solver logs the offer → it logs a proposal (its match round) */
  round: number
  /** the first proposal logged by a solver → the creator logs it (direct stream) */
  proposal: number
}

/** Where the time from offer to match went for each job of a creator, from its own and the solvers' logs. */
function matchSteps (creator: NodeLog, solvers: NodeLog[]): MatchSteps[] {
  return creator.records.filter(r => r.type === 'stream.open' && (r.data as OpenData).stream.startsWith('job:'))
    .map(open => jobMatchSteps(creator, open, solvers)).filter(s => s !== undefined)
}

function jobMatchSteps (creator: NodeLog, open: NodeLog['records'][number], solvers: NodeLog[]): MatchSteps | undefined {
  const stream = (open.data as OpenData).stream
  const jobOfferId = stream.slice('job:'.length)
  const job = (open.data as OpenData).input as { job: { author: string, nonce: string } }
  const proposalIn = creator.records.find(r => r.type === 'input' && (r.data as InputData).stream === stream && (r.data as InputData).event.type === 'message.received' &&
    ((r.data as InputData).event.envelope as { type?: string } | undefined)?.type === 'MatchProposal')
  const heard: number[] = []
  const proposed: number[] = []
  for (const solver of solvers) {
    for (const r of solver.records) {
      if (r.type === 'input') {
        const envelope = (r.data as InputData).event.envelope as { type?: string, message?: { author?: string, nonce?: string } } | undefined
        if (envelope?.type === 'JobOffer' && envelope.message?.author === job.job.author && envelope.message.nonce === job.job.nonce) heard.push(r.at)
      }
      if (r.type === 'output') {
        const output = (r.data as OutputData).output
        if (output.messageType === 'MatchProposal' && (output.attach as string[] | undefined)?.[0] === jobOfferId) proposed.push(r.at)
      }
    }
  }
  if (proposalIn === undefined || heard.length === 0 || proposed.length === 0) return undefined
  const firstHeard = Math.min(...heard)
  const firstProposed = Math.min(...proposed)
  return { gossip: firstHeard - open.at, round: firstProposed - firstHeard, proposal: proposalIn.at - firstProposed }
}

/** The figure of `run_vs_docker_ratio` for a set of runs against the bare docker runs beside them. */
function runVsDocker (metric: string, runs: JobResult[], baseline: number, offeredName: string, note: string): void {
  if (runs.some(r => r.outcome !== 'Accepted' || r.timings.verified === undefined)) throw new Error(`a job did not complete: ${JSON.stringify(runs.map(r => r.outcome))}`)
  const verified = median(runs.map(r => r.timings.verified!))
  const settled = median(runs.map(r => r.timings.settled ?? Number.NaN))
  report({
    bench: 'e2e',
    metric,
    value: round(verified / baseline),
    unit: 'ratio',
    goal: '<=1.3',
    baseline: round(baseline),
    ratio: round(verified / baseline),
    run_ms: round(verified),
    [offeredName]: round(median(runs.map(r => r.timings.offered!))),
    phases_ms: Object.fromEntries((['offered', 'matched', 'agreed', 'results', 'verified'] as const).map(p => [p, round(median(runs.map(r => r.timings[p] ?? Number.NaN)))])),
    settled_ms: round(settled),
    settled_ratio: round(settled / baseline),
    rounds: runs.length,
    note
  })
}

/** `lilypad run` processes timed, each beside a `docker run`: on a shared two-core machine the median of five moved by 0.1 between runs */
const CLI_ROUNDS = 9

async function timed (file: string, args: string[]): Promise<{ ms: number, stdout: string }> {
  const started = performance.now()
  const { stdout } = await exec(file, args)
  return { ms: performance.now() - started, stdout }
}

/**
 * The commands as a user meets them, from the installed package: `lilypad --help`, and the whole
 * `lilypad run` process submitting to the devnet's job-creator node, each run beside a bare
 * `docker run` of the same container, alternating.
 */
async function installedCli (net: DemoNetwork, root: string, imageId: string): Promise<void> {
  const pkg = await installPackage(join(root, 'package'))
  if (pkg.devTools.length > 0) throw new Error(`the installed package pulled in development tools: ${pkg.devTools.join(', ')}`)
  const version = (await exec(pkg.bin, ['--version'])).stdout.trim()
  report({ bench: 'e2e', metric: 'package_install_s', value: round(pkg.installMs / 1000), unit: 's', pack_s: round(pkg.packMs / 1000), tarball_kb: round(pkg.tarballBytes / 1024), version, dev_tools_installed: pkg.devTools, note: '`npm install` of the packed tarball into an empty folder, from npm\'s cache; pack_s: `npm pack` with its build' })

  const help: number[] = []
  const bareNode: number[] = []
  for (let i = 0; i < 9; i++) {
    help.push((await timed(pkg.bin, ['--help'])).ms)
    bareNode.push((await timed(process.execPath, ['-e', '0'])).ms)
  }
  report({ bench: 'e2e', metric: 'cli_help_ms', value: round(median(help)), unit: 'ms', goal: '<=300', node_startup_ms: round(median(bareNode)), rounds: help.length, note: 'median wall time of the installed `lilypad --help` process; node_startup_ms: `node -e 0` beside it' })

  const cli: number[] = []
  const bare: number[] = []
  for (let i = 0; i < CLI_ROUNDS; i++) {
    const run = await timed(pkg.bin, ['run', 'cowsay:v0.0.1', '-i', `Message=cli ${i}`, '--node', net.info.jobCreatorApi!, '--mediation-chance', '0'])
    if (!run.stdout.includes(`< cli ${i} >`)) throw new Error(`lilypad run printed no cowsay: ${run.stdout}`)
    cli.push(run.ms)
    bare.push(await bareDockerRun(imageId, `cli ${i}`))
  }
  const baseline = median(bare)
  report({ bench: 'e2e', metric: 'cli_run_vs_docker_ratio', value: round(median(cli) / baseline), unit: 'ratio', goal: '<=1.3', baseline: round(baseline), ratio: round(median(cli) / baseline), run_ms: round(median(cli)), rounds: cli.length, note: 'median wall time of the installed `lilypad run cowsay:v0.0.1 --node <the devnet\'s job-creator node>` process, start to exit (matched, run, results fetched and verified), vs `docker run --rm --network none` of the same image and command, alternating' })
}

/** Deals accepted per minute while `CREATORS` loops run `JOBS_EACH` jobs each, back to back. */
async function dealsPerMinute (net: DemoNetwork, metric: string, job: (creator: number, j: number) => Promise<JobResult>, note: string): Promise<void> {
  const started = performance.now()
  const loops = Array.from({ length: CREATORS }, async (_, creator) => {
    const outcomes: string[] = []
    for (let j = 0; j < JOBS_EACH; j++) {
      const result = await job(creator, j).catch((err: Error) => ({ outcome: err.message }))
      outcomes.push(result.outcome)
    }
    return outcomes
  })
  const outcomes = (await Promise.all(loops)).flat()
  const minutes = (performance.now() - started) / 60_000
  const accepted = outcomes.filter(o => o === 'Accepted').length
  const failures = [...new Set(outcomes.filter(o => o !== 'Accepted'))]
  const providers = net.info.nodes.filter(n => n.roles.includes('resource-provider')).length
  report({
    bench: 'e2e',
    metric,
    value: round(accepted / minutes),
    unit: 'deals/min',
    providers,
    slots: providers,
    job_creators: CREATORS,
    jobs: outcomes.length,
    accepted,
    wall_s: round(minutes * 60),
    ...(failures.length > 0 ? { failures } : {}),
    note
  })
}

export async function run (): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'lilypad-bench-e2e-'))
  const net = await startDemoNetwork({ dir: join(root, 'devnet'), engine: 'docker', jobCreators: CREATORS, jobCreatorNode: true })
  try {
    const imageId = await ensureCowsayImage()
    await bareDockerRun(imageId, 'warm')
    await cowsay(net, 0, 'warm', join(root, 'warm'))
    await cowsayOnNode(net, 'warm')
    await installedCli(net, root, imageId)

    // one job at a time, each beside a bare docker run of the same container: submitted to the
    // running job-creator node, then from a node started for the job
    const onNode: JobResult[] = []
    const perJobNode: JobResult[] = []
    const bare: number[] = []
    const dirs: string[] = []
    for (let i = 0; i < ROUNDS; i++) {
      onNode.push(await cowsayOnNode(net, `moo ${i}`))
      bare.push(await bareDockerRun(imageId, `moo ${i}`))
      dirs.push(join(root, `round-${i}`))
      perJobNode.push(await cowsay(net, 0, `moo ${i}`, dirs[i]!))
      bare.push(await bareDockerRun(imageId, `moo ${i}`))
    }
    const baseline = median(bare)
    runVsDocker('run_vs_docker_ratio', onNode, baseline, 'submitted_and_offered_ms',
      'median wall time of `lilypad run --node` (runJobOnNode: POST /jobs to the devnet\'s running job-creator node, phases by server-sent events) until the results are fetched and verified (settlement is after it, off the critical path: settled_ms) vs `docker run --rm --network none` of the same image and command')
    runVsDocker('run_vs_docker_ratio_per_job_node', perJobNode, baseline, 'node_up_and_offered_ms',
      'the same with a job-creator node started for each job (runJob: `lilypad run` without a node to submit to)')

    const solverLogs = await Promise.all(net.info.nodes.filter(n => n.roles.includes('solver')).map(n => readLiveLog(n.name, n.dataDir, join(root, 'log-copies'))))
    const creatorNode = net.info.nodes.find(n => n.roles.includes('job-creator'))!
    // the node's first job was the warm-up
    const steps = matchSteps(await readLiveLog(creatorNode.name, creatorNode.dataDir, join(root, 'log-copies')), solverLogs).slice(1)
    const perJobSteps = (await Promise.all(dirs.map(dir => readLog(dir, join(dir, 'log'))))).flatMap(log => matchSteps(log, solverLogs))
    const toMatch = (runs: JobResult[]): number => median(runs.map(r => r.timings.matched! - r.timings.offered!))
    report({
      bench: 'e2e',
      metric: 'time_to_match_ms',
      value: round(toMatch(onNode)),
      unit: 'ms',
      gossip_ms: round(median(steps.map(s => s.gossip))),
      solver_round_ms: round(median(steps.map(s => s.round))),
      proposal_delivery_ms: round(median(steps.map(s => s.proposal))),
      per_job_node: {
        value: round(toMatch(perJobNode)),
        gossip_ms: round(median(perJobSteps.map(s => s.gossip))),
        solver_round_ms: round(median(perJobSteps.map(s => s.round))),
        proposal_delivery_ms: round(median(perJobSteps.map(s => s.proposal)))
      },
      rounds: ROUNDS,
      note: 'median time from the job offer to its first match proposal at the job creator (the running job-creator node; per_job_node: a node started per job); the steps are read from the creator\'s and the solvers\' logs'
    })

    // job creators keep both providers busy: deals completed per minute of wall time
    await dealsPerMinute(net, 'deals_per_minute', (creator, j) => cowsayOnNode(net, `load ${creator}.${j}`),
      'cowsay deals accepted per minute while clients submit jobs back to back to the devnet\'s running job-creator node, against its one-slot providers')
    await dealsPerMinute(net, 'deals_per_minute_per_job_node', (creator, j) => cowsay(net, creator, `load ${creator}.${j}`, join(root, `load-${creator}-${j}`)),
      'the same with each job creator starting its own node per job')
  } finally {
    await net.stop()
    await rm(root, { recursive: true, force: true })
  }
}
