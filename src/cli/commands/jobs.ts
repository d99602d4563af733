import { resolve } from 'node:path'
import type { Command } from 'commander'
import type { JobSummary, JobView } from '../../node/server/job-board.ts'
import { API_EXIT, CommandFailure, nodeApiOf, reportRun, type NodeApiFlags, type Write } from './node-api-flags.ts'

const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024

const stdout: Write = t => { process.stdout.write(t) }
const stderr: Write = t => { process.stderr.write(t) }

/** `lilypad jobs list`: the node's jobs, newest first. */
export async function jobsList (flags: NodeApiFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('jobs list', flags, out, err, async () => {
    const jobs = await (await nodeApiOf(flags)).jobs()
    return { json: { jobs }, text: listText(jobs) }
  })
}

/** `lilypad jobs describe <id>`: a job's phases, deal, state and result. */
export async function jobsDescribe (id: string, flags: NodeApiFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('jobs describe', flags, out, err, async () => {
    const view = await (await nodeApiOf(flags)).job(id)
    return { json: view, text: describeText(view) }
  })
}

/** `lilypad jobs logs <id>`: the job's stdout and stderr, as its results hold them. */
export async function jobsLogs (id: string, flags: NodeApiFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('jobs logs', flags, out, err, async () => {
    const api = await nodeApiOf(flags)
    const view = await api.job(id)
    const cid = resultsCidOf(view)
    const [logOut, logErr] = await Promise.all([api.resultsFile(cid, 'stdout'), api.resultsFile(cid, 'stderr')])
    if (logOut === null && logErr === null) throw new CommandFailure(API_EXIT.failed, 'NO_RESULTS', `the node holds no results of job ${id} (its deal is ${view.state})`)
    return { json: { id, resultsCid: cid, stdout: logOut, stderr: logErr }, text: `${logOut ?? ''}${logErr === null || logErr === '' ? '' : `--- stderr ---\n${logErr}`}` }
  })
}

/** `lilypad jobs get <id>`: the job's results, fetched from the node and checked block by block against their CID. */
export async function jobsGet (id: string, flags: NodeApiFlags & { out?: string, maxBytes?: string }, out = stdout, err = stderr): Promise<number> {
  return await reportRun('jobs get', flags, out, err, async () => {
    const maxBytes = flags.maxBytes === undefined ? DEFAULT_MAX_BYTES : Number(flags.maxBytes)
    if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', `--max-bytes takes a whole number of bytes, not ${flags.maxBytes}`)
    const api = await nodeApiOf(flags)
    const view = await api.job(id)
    const cidText = resultsCidOf(view)
    const [{ parseCid }, { fetchResultsOverHttp }] = await Promise.all([import('../../executor/results/cid.ts'), import('../../executor/results/http-fetch.ts')])
    // Lilypad's layout: downloaded-files/<job>/stdout, stderr, outputs/
    const dir = resolve(flags.out ?? `downloaded-files/${id}`)
    const started = Date.now()
    await fetchResultsOverHttp(api.base, parseCid(cidText), dir, { maxBytes, headers: api.headers() })
    if (flags.json !== true) err(`results ${cidText} of job ${id} fetched and verified in ${Date.now() - started} ms\n`)
    return { json: { id, resultsCid: cidText, dir }, text: `${dir}\n` }
  })
}

/** `lilypad jobs cancel <id>`: calls a job off while no deal is signed. */
export async function jobsCancel (id: string, flags: NodeApiFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('jobs cancel', flags, out, err, async () => {
    const view = await (await nodeApiOf(flags)).cancel(id)
    return { json: view, text: `job ${id} cancelled: no deal was signed, and its offer lapses\n` }
  })
}

function resultsCidOf (view: JobView): string {
  const cid = view.result?.resultsCid
  if (cid === undefined || cid === null || cid === '') throw new CommandFailure(API_EXIT.failed, 'NO_RESULTS', `job ${view.id} has no results yet (its deal is ${view.state})`)
  return cid
}

function listText (jobs: JobSummary[]): string {
  if (jobs.length === 0) return 'no jobs\n'
  const rows = jobs.map(j => [j.id.slice(0, 16), new Date(j.submittedAt).toISOString().replace('T', ' ').slice(0, 19), j.state, j.done ? (j.cancelled ? 'cancelled' : j.outcome ?? '-') : j.phase, j.module])
  const head = ['JOB', 'SUBMITTED', 'STATE', 'OUTCOME', 'MODULE']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i]!.length)))
  return [head, ...rows].map(r => r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(widths[i]!)).join('  ')).join('\n') + '\n'
}

function describeText (v: JobView): string {
  const lines = [
    `job ${v.id}`,
    `  module     ${v.module}`,
    `  submitted  ${new Date(v.submittedAt).toISOString()}`,
    `  deal       ${v.dealId ?? '-'} (${v.state})`,
    `  phases     ${v.phases.map(p => p.at === null ? p.phase : `${p.phase} +${p.at} ms`).join(', ') || '-'}`
  ]
  if (v.result !== null) {
    lines.push(`  outcome    ${v.result.outcome}${v.result.checked === true ? ' (results re-run and checked)' : ''}`)
    lines.push(`  results    ${v.result.resultsCid ?? '-'}`)
    if (v.result.provider !== null) lines.push(`  provider   ${v.result.provider}`)
  }
  if (v.error !== null) lines.push(`  error      ${v.error.code}: ${v.error.message}`)
  if (!v.done) lines.push('  (under way)')
  return lines.join('\n') + '\n'
}

function withApiFlags (command: Command): Command {
  return command
    .option('--node <api-url>', 'the job-creator node\'s API (LILYPAD_NODE_API; default: the devnet\'s)')
    .option('--token <token>', 'the node\'s API token, when it listens beyond 127.0.0.1 (LILYPAD_API_TOKEN)')
    .option('--json', 'print one JSON object (an error as { error, code })')
}

export function registerJobs (program: Command): void {
  const jobs = program.command('jobs').description('the jobs of a running job-creator node: list, describe, logs, get, cancel')
  withApiFlags(jobs.command('list').description('list the node\'s jobs, newest first'))
    .action(async (flags: NodeApiFlags) => { process.exitCode = await jobsList(flags) })
  withApiFlags(jobs.command('describe').description('show a job: its phases, deal, state and result').argument('<id>', 'the job id'))
    .action(async (id: string, flags: NodeApiFlags) => { process.exitCode = await jobsDescribe(id, flags) })
  withApiFlags(jobs.command('logs').description('print a job\'s stdout and stderr').argument('<id>', 'the job id'))
    .action(async (id: string, flags: NodeApiFlags) => { process.exitCode = await jobsLogs(id, flags) })
  withApiFlags(jobs.command('get').description('fetch a job\'s results, checked against their CID').argument('<id>', 'the job id'))
    .option('--out <dir>', 'where to write them (default ./downloaded-files/<id>)')
    .option('--max-bytes <n>', 'refuse results larger than this (default 1 GiB)')
    .action(async (id: string, flags: NodeApiFlags & { out?: string, maxBytes?: string }) => { process.exitCode = await jobsGet(id, flags) })
  withApiFlags(jobs.command('cancel').description('call a job off while no deal is signed').argument('<id>', 'the job id'))
    .action(async (id: string, flags: NodeApiFlags) => { process.exitCode = await jobsCancel(id, flags) })
}
