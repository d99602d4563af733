import { describe, expect, test } from 'vitest'
import { unconfirmedNotices } from '../../../../src/node/jobs/job-client.ts'
import { settleGuardAt } from '../../../../src/state-machines/deal-lifecycle.ts'
import type { JobCreatorContext } from '../../../../src/state-machines/job-creator.machine.ts'
import { scenario } from '../../state-machines/fixtures.ts'

describe('a job run whose node stops when the job is over', () => {
  test('says which signed deal may still bind it, and until when to run its node again', () => {
    const s = scenario()
    const job = { unconfirmed: [{ dealId: s.dealId, deal: s.deal, step: 'watch', wake: settleGuardAt(s.deal) }] } as unknown as JobCreatorContext
    const [line, ...more] = unconfirmedNotices(job)
    expect(more).toEqual([])
    expect(line).toContain(`deal ${s.dealId} was signed by this node and not co-signed by ${s.deal.resourceProvider} in time`)
    expect(line).toContain(`around ${new Date(settleGuardAt(s.deal)).toISOString()}, before ${new Date(s.deal.judgeDeadline).toISOString()}`)
    expect(unconfirmedNotices({ unconfirmed: [] } as unknown as JobCreatorContext)).toEqual([])
    expect(unconfirmedNotices(undefined)).toEqual([])
  })
})
