// A job creator in a process of its own, for a host the test process is not on (a network
// namespace): `node --import tsx job-process-main.ts` reads runJob's options as JSON on stdin, runs
// the job, and prints one JSON line: `{ result }`, or `{ error, code, result }` when it failed.
import '../../../src/polyfills.ts'
import { JobError } from '../../../src/node/jobs/job-errors.ts'
import { runJob, type RunJobOptions } from '../../../src/node/jobs/job-client.ts'

const chunks: Buffer[] = []
for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
const options = JSON.parse(Buffer.concat(chunks).toString('utf8')) as RunJobOptions
let line: Record<string, unknown>
try {
  line = { result: await runJob(options) }
} catch (err) {
  line = { error: (err as Error).message, code: (err as JobError).code, result: err instanceof JobError ? err.result : undefined }
}
process.stdout.write(JSON.stringify(line) + '\n', () => process.exit(0))
