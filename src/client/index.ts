/**
 * The package's library entry: a client of a job-creator node's API. Run a node with
 * `lilypad node --roles job-creator --api-port <port>`, then drive it from a program.
 */
export { LilypadClient, type FollowOptions, type JobSubmission, type LilypadClientOptions } from './lilypad-client.ts'
export { NodeApi, NodeApiError } from './node-api.ts'
export { JobError, type JobErrorCode } from '../node/jobs/job-errors.ts'
export type { JobResult, JobPhase, PhaseListener } from '../node/jobs/job-on-node.ts'
export type { JobRequest } from '../node/server/job-request.ts'
export type { JobSummary, JobView, PhaseEvent } from '../node/server/job-board.ts'
export { packageVersion } from '../node/package-version.ts'
