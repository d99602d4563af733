import type { JobResult } from './job-on-node.ts'

export type JobErrorCode = 'BAD_INPUT' | 'NO_DEPOSIT' | 'NO_PEERS' | 'NO_MATCH' | 'FAILED'

export class JobError extends Error {
  override readonly name = 'JobError'
  constructor (readonly code: JobErrorCode, message: string, readonly result?: JobResult) {
    super(message)
  }
}
