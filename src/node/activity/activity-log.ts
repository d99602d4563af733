import type { Logger } from 'pino'
import type { Activity, DealActivity } from './deal-activity.ts'

/** Effects a person follows a deal by; message sends and publishes are many and go at debug level. */
function levelOf (activity: Activity): 'info' | 'debug' | 'warn' {
  if (activity.kind === 'deal') return 'info'
  if (activity.kind === 'effect.end' && activity.error !== undefined) return 'warn'
  return activity.type.startsWith('message.') || activity.type === 'input.rejected' ? 'debug' : 'info'
}

/**
 * One structured line for every deal state change and every effect's start and end, each with the
 * deal id, the role (the machine) and the party (this node's address): `deal`, `effect started`,
 * `effect ended`. Chain transactions are effects (`chain.*`), so each has its two lines.
 */
export function logActivity (activity: DealActivity, logger: Logger, party: string): () => void {
  const log = logger.child({ party })
  return activity.subscribe((a) => {
    const level = levelOf(a)
    if (!log.isLevelEnabled(level)) return
    if (a.kind === 'deal') {
      log[level]({ dealId: a.dealId, jobOfferId: a.jobOfferId, role: a.role, from: a.from, to: a.to, ...(a.resultsCid === null ? {} : { resultsCid: a.resultsCid }) }, 'deal')
      return
    }
    const role = a.stream.startsWith('job:') ? 'job-creator' : a.stream
    log[level]({ dealId: a.dealId, role, effect: a.type, id: a.id, ...(a.error === undefined ? {} : { error: a.error }) }, a.kind === 'effect.start' ? 'effect started' : 'effect ended')
  })
}
