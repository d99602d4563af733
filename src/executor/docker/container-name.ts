import { createHash } from 'node:crypto'

export const JOB_LABEL = 'org.lilypad.job-id'
export const DEADLINE_LABEL = 'org.lilypad.deadline'
/** where the run's results go: a node finds what a run it collected left by its results */
export const RESULTS_LABEL = 'org.lilypad.results-dir'

const SAFE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,100}$/

/**
 * The container name for a job: a restarted node finds its containers by job id alone. Ids that
 * Docker would not accept as a name are hashed.
 */
export function containerName (prefix: string, jobId: string): string {
  if (SAFE.test(jobId)) return `${prefix}${jobId}`
  return `${prefix}h-${createHash('sha256').update(jobId).digest('hex').slice(0, 40)}`
}
