import { JobError } from '../node/jobs/job-errors.ts'
import type { JobResult, PhaseListener } from '../node/jobs/job-on-node.ts'
import type { JobRequest } from '../node/server/job-request.ts'
import { LilypadClient, type FollowOptions } from './lilypad-client.ts'

/**
 * `lilypad run --node <api>`: submits the job to a running job-creator node's API, follows its
 * phases live and returns its result once its results are verified (the node settles the deal on
 * its own), or once it is settled too. Timings are the client's, from the moment it submitted.
 */
export async function runJobOnNode (api: string, request: JobRequest, onPhase?: PhaseListener, until?: FollowOptions['until']): Promise<JobResult> {
  let client: LilypadClient
  try {
    client = new LilypadClient(api)
  } catch {
    throw new JobError('BAD_INPUT', `the node's API is a URL such as http://127.0.0.1:8080, not ${JSON.stringify(api)}`)
  }
  return await client.run(request, { onPhase, until })
}
