/**
 * The deal lifecycle of DESIGN §6, as any observer with the signed messages sees it.
 * Input: the domain and the signed JobOffer. Every non-final state arms its deadline.
 */
import { setup, type ActionFunction } from 'xstate'
import type { Envelope } from '../protocols/messages/envelope.ts'
import type { Deal } from '../protocols/messages/schemas.ts'
import type { Deadlines, InputEvent, MachineOutput } from './contract.ts'
import { expectAttachment, expectMessage, expectTimer, includesAddress, json, sameAddress, type DomainJson } from './common.ts'
import { buildDeal, checkProposal, dealId as dealIdOf, expectSameDeal } from './deal-terms.ts'
import type { DealOutcome } from './deal-states.ts'
import { examinedImplementations, type Examination } from './examined.ts'
import { violation } from './rejection.ts'
import { PAYOUT_ROLES, settle, type Evidence } from './settle.ts'

export interface DealMachineInput {
  domain: DomainJson
  jobOffer: Envelope<'JobOffer'>
  at: number
}

export interface DealContext {
  domain: DomainJson
  jobOffer: Envelope<'JobOffer'>
  jobOfferId: string
  proposalId: string | null
  deal: Deal | null
  dealId: string | null
  resultsCid: string | null
  mediator: string | null
  outcome: DealOutcome | null
  deadlines: Deadlines
}

type Exam = Examination<DealContext>

function jobOf (c: DealContext, at: number) {
  return expectMessage(c.domain, c.jobOffer, 'JobOffer', at, { ignoreExpiry: true })
}

function dealOf (c: DealContext): { deal: Deal, dealId: string } {
  if (c.deal === null || c.dealId === null) return violation('WRONG_STATE', 'no deal yet')
  return { deal: c.deal, dealId: c.dealId }
}

function outcomeOutput (c: DealContext, outcome: DealOutcome, mediator: string | null): MachineOutput {
  const { deal, dealId } = dealOf(c)
  const evidence = (outcome === 'MediationAccepted' || outcome === 'MediationRejected'
    ? { outcome, mediator: mediator ?? '' }
    : { outcome }) as Evidence
  const settlement = settle(deal, evidence)
  const payouts: Record<string, string> = {}
  for (const role of PAYOUT_ROLES) payouts[role] = settlement.payouts[role].toString()
  return { type: 'deal.outcome', id: `outcome:${dealId}`, dealId, outcome, payouts }
}

function ending (c: DealContext, outcome: DealOutcome, patch: Partial<DealContext> = {}): Exam {
  const mediator = patch.mediator ?? c.mediator
  return { patch: { ...patch, outcome, deadlines: {} }, outputs: [outcomeOutput(c, outcome, mediator)] }
}

function onTime (at: number, deadline: number, what: string): void {
  if (at > deadline) violation('LATE', `${what} arrived at ${at}, after its deadline ${deadline}`)
}

const examiners = {
  proposal: (c: DealContext, e: InputEvent): Exam => {
    const proposal = expectMessage(c.domain, e.envelope, 'MatchProposal', e.at)
    const job = jobOf(c, e.at)
    onTime(e.at, job.message.matchDeadline, 'the proposal')
    const offer = expectAttachment(c.domain, e as never, 'ResourceOffer')
    checkProposal(job, offer, proposal)
    const deal = buildDeal(job, offer, proposal)
    return { patch: { proposalId: proposal.id, deal, dealId: dealIdOf(c.domain, deal), deadlines: { agreeDeadline: deal.agreeDeadline } } }
  },
  signedDeal: (c: DealContext, e: InputEvent): Exam => {
    const { deal } = dealOf(c)
    const signed = expectMessage(c.domain, e.envelope, 'Deal', e.at)
    expectSameDeal(deal, signed.message)
    return { patch: { deadlines: { submitDeadline: deal.submitDeadline } } }
  },
  results: (c: DealContext, e: InputEvent): Exam => {
    const { deal, dealId } = dealOf(c)
    const results = expectMessage(c.domain, e.envelope, 'ResultsSubmitted', e.at)
    if (results.message.dealId !== dealId) violation('WRONG_DEAL', 'results for another deal')
    if (!sameAddress(results.message.author, deal.resourceProvider)) violation('WRONG_PARTY', 'results not by the deal\'s provider')
    onTime(e.at, deal.submitDeadline, 'the results')
    return { patch: { resultsCid: results.message.resultsCid, deadlines: { judgeDeadline: deal.judgeDeadline } } }
  },
  accepted: (c: DealContext, e: InputEvent): Exam => {
    const { deal, dealId } = dealOf(c)
    const accepted = expectMessage(c.domain, e.envelope, 'ResultsAccepted', e.at)
    if (accepted.message.dealId !== dealId) violation('WRONG_DEAL', 'acceptance of another deal')
    if (!sameAddress(accepted.message.author, deal.jobCreator)) violation('WRONG_PARTY', 'acceptance not by the deal\'s job creator')
    if (accepted.message.resultsCid !== c.resultsCid) violation('INCONSISTENT', 'acceptance of other results')
    onTime(e.at, deal.judgeDeadline, 'the acceptance')
    return ending(c, 'Accepted')
  },
  challenged: (c: DealContext, e: InputEvent): Exam => {
    const { deal, dealId } = dealOf(c)
    const challenge = expectMessage(c.domain, e.envelope, 'ResultsChallenged', e.at)
    if (challenge.message.dealId !== dealId) violation('WRONG_DEAL', 'challenge of another deal')
    if (!sameAddress(challenge.message.author, deal.jobCreator)) violation('WRONG_PARTY', 'challenge not by the deal\'s job creator')
    if (challenge.message.resultsCid !== c.resultsCid) violation('INCONSISTENT', 'challenge of other results')
    if (!includesAddress(deal.mediators, challenge.message.mediator)) violation('UNTRUSTED', 'the mediator is not named in the deal')
    onTime(e.at, deal.judgeDeadline, 'the challenge')
    return { patch: { mediator: challenge.message.mediator, deadlines: { mediateDeadline: deal.mediateDeadline } } }
  },
  verdictAccepted: (c: DealContext, e: InputEvent): Exam => verdict(c, e, false),
  verdictRejected: (c: DealContext, e: InputEvent): Exam => verdict(c, e, true),
  settled: (c: DealContext, e: InputEvent): Exam => {
    const { dealId } = dealOf(c)
    if (e.dealId !== dealId) violation('WRONG_DEAL', 'settlement of another deal')
    return { patch: {} }
  },
  matchTimeout: timeout('matchDeadline', 'TimeoutMatch'),
  agreeTimeout: timeout('agreeDeadline', 'TimeoutAgree'),
  submitTimeout: timeout('submitDeadline', 'TimeoutSubmit'),
  judgeTimeout: timeout('judgeDeadline', 'TimeoutJudge'),
  mediateTimeout: timeout('mediateDeadline', 'TimeoutMediate')
}

function verdict (c: DealContext, e: InputEvent, providerAtFault: boolean): Exam {
  const { deal, dealId } = dealOf(c)
  const v = expectMessage(c.domain, e.envelope, 'MediationVerdict', e.at)
  if (v.message.dealId !== dealId) violation('WRONG_DEAL', 'verdict on another deal')
  if (c.mediator === null || !sameAddress(v.message.author, c.mediator)) violation('WRONG_PARTY', 'verdict not by the challenged mediator')
  if (v.message.resultsCid !== c.resultsCid) violation('INCONSISTENT', 'verdict on other results')
  onTime(e.at, deal.mediateDeadline, 'the verdict')
  if (v.message.providerAtFault !== providerAtFault) violation('INCONSISTENT', 'the other verdict')
  return ending(c, providerAtFault ? 'MediationRejected' : 'MediationAccepted')
}

function timeout (timer: string, state: 'TimeoutMatch' | 'TimeoutAgree' | 'TimeoutSubmit' | 'TimeoutJudge' | 'TimeoutMediate') {
  return (c: DealContext, e: InputEvent): Exam => {
    expectTimer(c.deadlines, e, timer)
    if (state === 'TimeoutMatch' || state === 'TimeoutAgree') return { patch: { outcome: null, deadlines: {} } }
    return ending(c, state)
  }
}

const { guards, actions } = examinedImplementations<DealContext>(examiners)
type DealActions = {
  apply: ActionFunction<DealContext, InputEvent, InputEvent, { kind: string }, never, never, never, never, MachineOutput>
  reject: ActionFunction<DealContext, InputEvent, InputEvent, { kinds?: string[] } | undefined, never, never, never, never, MachineOutput>
}

const accept = (kind: keyof typeof examiners, target?: string) => ({
  guard: { type: 'accepts' as const, params: { kind } },
  ...(target !== undefined ? { target } : {}),
  actions: { type: 'apply' as const, params: { kind } }
})
const reject = (...kinds: Array<keyof typeof examiners>) => ({ actions: { type: 'reject' as const, params: { kinds } } })

const settledOn = {
  'chain.settled': [accept('settled', 'Settled'), reject('settled')],
  '*': reject()
}

export const dealMachine = setup({
  types: {
    context: {} as DealContext,
    input: {} as DealMachineInput,
    events: {} as InputEvent,
    emitted: {} as MachineOutput
  },
  guards,
  actions: actions as unknown as DealActions
}).createMachine({
  id: 'deal',
  context: ({ input }) => {
    const job = expectMessage(input.domain, input.jobOffer, 'JobOffer', input.at)
    return json({
      domain: input.domain,
      jobOffer: job.envelope as Envelope<'JobOffer'>,
      jobOfferId: job.id,
      proposalId: null,
      deal: null,
      dealId: null,
      resultsCid: null,
      mediator: null,
      outcome: null,
      deadlines: { matchDeadline: job.message.matchDeadline }
    })
  },
  initial: 'JobOffered',
  states: {
    JobOffered: {
      on: {
        'message.received': [accept('proposal', 'Matched'), reject('proposal')],
        'timer.fired': [accept('matchTimeout', 'TimeoutMatch'), reject('matchTimeout')],
        '*': reject()
      }
    },
    Matched: {
      on: {
        'message.received': [accept('signedDeal', 'Agreed'), reject('signedDeal')],
        'timer.fired': [accept('agreeTimeout', 'TimeoutAgree'), reject('agreeTimeout')],
        '*': reject()
      }
    },
    Agreed: {
      on: {
        'message.received': [accept('results', 'ResultsSubmitted'), reject('results')],
        'timer.fired': [accept('submitTimeout', 'TimeoutSubmit'), reject('submitTimeout')],
        '*': reject()
      }
    },
    ResultsSubmitted: {
      on: {
        'message.received': [accept('accepted', 'Accepted'), accept('challenged', 'Mediating'), reject('accepted', 'challenged')],
        'timer.fired': [accept('judgeTimeout', 'TimeoutJudge'), reject('judgeTimeout')],
        '*': reject()
      }
    },
    Mediating: {
      on: {
        'message.received': [
          accept('verdictAccepted', 'MediationAccepted'),
          accept('verdictRejected', 'MediationRejected'),
          reject('verdictAccepted')
        ],
        'timer.fired': [accept('mediateTimeout', 'TimeoutMediate'), reject('mediateTimeout')],
        '*': reject()
      }
    },
    Accepted: { on: settledOn },
    MediationAccepted: { on: settledOn },
    MediationRejected: { on: settledOn },
    TimeoutSubmit: { on: settledOn },
    TimeoutJudge: { on: settledOn },
    TimeoutMediate: { on: settledOn },
    Settled: { type: 'final' },
    TimeoutMatch: { type: 'final' },
    TimeoutAgree: { type: 'final' }
  }
})
