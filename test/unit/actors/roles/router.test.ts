import { describe, expect, it } from 'vitest'
import { routeDelivery, RoleStream } from '../../../../src/actors/roles/router.ts'
import type { Delivery } from '../../../../src/actors/roles/transport.ts'
import type { Envelope } from '../../../../src/protocols/messages/envelope.ts'

const SELF = '0x' + 'aa'.repeat(20)
const OTHER = '0x' + 'bb'.repeat(20)
const SIG = '0x' + '11'.repeat(65)
const JOB = '0x' + '01'.repeat(32)
const DEAL = '0x' + '02'.repeat(32)

const envelope = (type: Envelope['type'], message: object, signatures = 1): Envelope =>
  ({ type, message, signatures: Array.from({ length: signatures }, () => SIG) }) as unknown as Envelope
const direct = (e: Envelope): Delivery => ({ envelope: e, attachments: [] })
const gossip = (e: Envelope): Delivery => ({ envelope: e, attachments: [], topic: 'lilypad/deals' })

function route (delivery: Delivery, streams: string[], deals: Record<string, string> = {}): string[] {
  return routeDelivery(delivery, { self: SELF, has: s => streams.includes(s), jobOfDeal: d => deals[d] })
}

const all = [RoleStream.solver, RoleStream.resourceProvider, RoleStream.mediator, RoleStream.job(JOB)]

describe('routing deliveries to role streams', () => {
  it('gives offers to the solver only', () => {
    expect(route(gossip(envelope('ResourceOffer', { author: OTHER })), all)).toEqual(['solver'])
    expect(route(gossip(envelope('JobOffer', { author: OTHER })), all)).toEqual(['solver'])
    expect(route(gossip(envelope('JobOffer', { author: OTHER })), [RoleStream.resourceProvider])).toEqual([])
  })

  it('gives a proposal to each party it names, and to no one else', () => {
    const proposal = { jobCreator: SELF, resourceProvider: OTHER, jobOfferId: JOB }
    expect(route(direct(envelope('MatchProposal', proposal)), all)).toEqual([RoleStream.job(JOB)])
    expect(route(direct(envelope('MatchProposal', { ...proposal, jobCreator: OTHER, resourceProvider: SELF })), all)).toEqual(['resource-provider'])
  })

  it('gives the provider the deal to co-sign, the creator the co-signed deal, and solvers the gossiped copy', () => {
    const deal = { jobCreator: SELF, resourceProvider: OTHER, jobOfferId: JOB }
    expect(route(direct(envelope('Deal', deal, 2)), all)).toEqual([RoleStream.job(JOB)])
    expect(route(gossip(envelope('Deal', deal, 2)), all)).toEqual(['solver'])
    expect(route(direct(envelope('Deal', { ...deal, jobCreator: OTHER, resourceProvider: SELF }, 1)), all)).toEqual(['resource-provider'])
    expect(route(direct(envelope('Deal', { ...deal, jobCreator: OTHER, resourceProvider: SELF }, 2)), all)).toEqual([])
  })

  it('finds the job a deal belongs to for results and verdicts, and takes a verdict once', () => {
    const deals = { [DEAL]: RoleStream.job(JOB) }
    expect(route(direct(envelope('ResultsSubmitted', { dealId: DEAL })), all, deals)).toEqual([RoleStream.job(JOB)])
    expect(route(direct(envelope('ResultsSubmitted', { dealId: DEAL })), all)).toEqual([])
    expect(route(direct(envelope('MediationVerdict', { dealId: DEAL })), all, deals)).toEqual([RoleStream.job(JOB), 'resource-provider'])
    expect(route({ ...gossip(envelope('MediationVerdict', { dealId: DEAL })), topic: 'lilypad/verdicts' }, all, deals)).toEqual([])
  })

  it('gives a challenge to the provider, and to the mediator when the deal it carries names this node among its mediators', () => {
    const challenge = envelope('ResultsChallenged', { dealId: DEAL })
    const carrying = (mediators: string[]): Delivery => ({ envelope: challenge, attachments: [envelope('Deal', { mediators }, 2)] })
    expect(route(carrying([OTHER, SELF.toUpperCase().replace('0X', '0x')]), all)).toEqual(['resource-provider', 'mediator'])
    expect(route(carrying([OTHER]), all)).toEqual(['resource-provider'])
    expect(route(direct(challenge), all)).toEqual(['resource-provider'])
  })
})
