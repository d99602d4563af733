/** Runs a job with runJob in a child process under a command prefix (e.g. on a host of its own: `nsenter --net=… --`). */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { JobError, type JobErrorCode } from '../../../src/node/jobs/job-errors.ts'
import type { RunJobOptions } from '../../../src/node/jobs/job-client.ts'
import type { JobResult } from '../../../src/node/jobs/job-on-node.ts'
import { repoRoot } from '../../support/child.ts'

const MAIN = fileURLToPath(new URL('./job-process-main.ts', import.meta.url))

/** The job's result; a failed job throws its JobError, with the result it had. Its stderr goes to `stderr`. */
export async function runJobUnder (prefix: string[], options: RunJobOptions, stderr: (text: string) => void = () => {}): Promise<JobResult> {
  const command = [...prefix, process.execPath, '--import', 'tsx', MAIN]
  const child = spawn(command[0]!, command.slice(1), { cwd: repoRoot, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { err = (err + chunk.toString()).slice(-20_000); stderr(chunk.toString()) })
  child.stdin.end(JSON.stringify(options))
  const code = await new Promise<number | null>((resolve, reject) => { child.once('exit', resolve).once('error', reject) })
  const last = out.trim().split('\n').pop() ?? ''
  let line: { result?: JobResult, error?: string, code?: JobErrorCode }
  try {
    line = JSON.parse(last)
  } catch {
    throw new Error(`the job process exited (${code}) without a result; stderr: ${err.trim().split('\n').slice(-5).join(' | ')}`)
  }
  if (line.error !== undefined) throw new JobError(line.code ?? 'FAILED', line.error, line.result)
  return line.result!
}
