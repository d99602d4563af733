/**
 * The job creator, one machine per job: publish the offer, take the first valid match, sign the
 * deal, wait for results, fetch and verify them (checking with probability p, decided from the deal
 * id and the creator's secret), then accept or challenge; claim the deadlines that favour it.
 */
import type { Deal, JobOffer } from '../protocols/messages/schemas.ts'
import { DEAL_DELIVERY_GRACE_MS } from '../protocols/messages/delivery.ts'
import type { Deadlines, InputEvent, MachineOutput } from './contract.ts'
import { shouldCheck } from './check-decision.ts'
import { expectAttachment, expectMessage, expectTimer, publishOutput, sendOutput, type DomainJson } from './common.ts'
import { buildDeal, checkProposal, dealId as dealIdOf, expectSameDeal } from './deal-terms.ts'
import { isDealOutcome, type DealState } from './deal-states.ts'
import { deciderMachine, type Decider, type Decision } from './decider.ts'
import { nodeMessages, type Messages } from '../protocols/messages/signing.ts'
import { violation } from './rejection.ts'
import { depositCovers, depositOf, expectBy, expectResultsOf, expectVerdictOf, providerLock, rerunJudges, resultsCidHash, settleGuardAt, settleVerdict, SETTLE_VERDICT, withVerdictFrom } from './deal-lifecycle.ts'
import { ownMessage, ownVerified } from './verified-own.ts'
import { decideUnconfirmed, keepUnconfirmed, withUnconfirmedTimers, type UnconfirmedDeal } from './unconfirmed-deals.ts'

export const JOB_OFFERS_TOPIC = 'lilypad/job-offers'

/**
 * A deal the job creator signed binds it as soon as the provider co-signs, which the provider may do
 * until the agree deadline by its own clock; its co-signature may be delivered in a grace after that
 * deadline. The job creator takes the deal as fallen through (and signs another) only after that
 * grace and a margin more, so that a co-signature its node took in is always stepped before the
 * deadline's timer.
 */
export const AGREE_GRACE_MS = DEAL_DELIVERY_GRACE_MS + 2_000

export interface JobCreatorInput {
  domain: DomainJson
  /** the job offer to publish; its author is this node */
  job: JobOffer
  /** 32-byte hex; with the deal id it decides whether to check results */
  secret: string
  /** probability of checking results, in [0, 1] */
  checkRate: number
  at: number
}

export type JobCreatorPhase = 'offering' | 'agreeing' | 'awaitingResults' | 'fetching' | 'verifying' | 'challenged' | 'done'

export interface JobCreatorContext {
  domain: DomainJson
  job: JobOffer
  jobOfferId: string
  secret: string
  checkRate: number
  phase: JobCreatorPhase
  deal: Deal | null
  dealId: string | null
  resultsId: string | null
  resultsCid: string | null
  checked: boolean | null
  /** the mediators whose verdict this job put on chain (one each) */
  verdictsFrom?: string[]
  /** the deal state this job ended in (when phase is 'done') */
  outcome: DealState | null
  /** called off by its creator before any deal was signed (it ends as TimeoutMatch: nothing was locked) */
  cancelled?: boolean
  /** deals whose agreement fell through: the provider never co-signed; their proposals are not taken again */
  failedDeals: string[]
  /** while agreeing: whether the provider's free deposit covers its collateral (null: being read) */
  providerFunded: boolean | null
  /** deals we signed whose co-signature never reached us in time, watched until the chain says they bind no one */
  unconfirmed?: UnconfirmedDeal[]
  deadlines: Deadlines
}

type D = Decision<JobCreatorContext>

/**
 * The job creator's decider, which checks messages with `messages`: a node's own
 * (`nodeMessages`), or one a simulation made for all its parties.
 */
export function createJobCreatorDecider (messages: Messages): Decider<JobCreatorContext, JobCreatorInput> {
  function init (input: JobCreatorInput): JobCreatorContext {
    const job = ownMessage(messages, input.domain, 'JobOffer', input.job)
    if (!(input.checkRate >= 0 && input.checkRate <= 1)) throw new RangeError('checkRate must be within [0, 1]')
    if (!/^0x[0-9a-fA-F]{64}$/.test(input.secret)) throw new RangeError('secret must be 32 bytes of hex')
    return {
      domain: input.domain,
      job: job.message,
      jobOfferId: job.id,
      secret: input.secret,
      checkRate: input.checkRate,
      phase: 'offering',
      deal: null,
      dealId: null,
      resultsId: null,
      resultsCid: null,
      checked: null,
      outcome: null,
      failedDeals: [],
      providerFunded: null,
      unconfirmed: [],
      deadlines: { matchDeadline: job.message.matchDeadline }
    }
  }

  function initialOutputs (c: JobCreatorContext): MachineOutput[] {
    return [publishOutput(`publish:${c.jobOfferId}`, 'JobOffer', c.job, JOB_OFFERS_TOPIC)]
  }

  function inPhase (c: JobCreatorContext, ...phases: JobCreatorPhase[]): void {
    if (!phases.includes(c.phase)) violation('WRONG_STATE', `not expected while ${c.phase}`)
  }

  function theDeal (c: JobCreatorContext): { deal: Deal, dealId: string } {
    if (c.deal === null || c.dealId === null) return violation('WRONG_STATE', 'no deal yet')
    return { deal: c.deal, dealId: c.dealId }
  }

  function done (c: JobCreatorContext, outcome: DealState, outputs: MachineOutput[] = [], extra: Partial<JobCreatorContext> = {}): D {
    return { context: { ...c, ...extra, phase: 'done', outcome, deadlines: {} }, outputs }
  }

  function accept (c: JobCreatorContext, at: number, checked: boolean): D {
    const { deal, dealId } = theDeal(c)
    const message = { author: c.job.author, nonce: String(at), expiry: deal.mediateDeadline, dealId, resultsCid: c.resultsCid ?? '' }
    const accepted = done(c, 'Accepted', [sendOutput(`accept:${dealId}`, 'ResultsAccepted', message, [deal.resourceProvider])], { checked })
    return { ...accepted, context: { ...accepted.context, deadlines: { settleGuard: Math.max(at, settleGuardAt(deal)) } } }
  }

  /**
   * Challenges the results the provider signed to us. The chain draws the judge from the deal's
   * mediators once the challenge is mined, so every one of them is told: each reads the draw, and
   * only the judge takes the case. An equivocation (the chain holds another CID the provider
   * committed) settles on chain at once, so no mediator is asked to re-run the job.
   */
  function challenge (c: JobCreatorContext, at: number, checked: boolean, equivocation = false): D {
    const { deal, dealId } = theDeal(c)
    const message = { author: c.job.author, nonce: String(at), expiry: deal.mediateDeadline, dealId, resultsCid: c.resultsCid ?? '' }
    return {
      context: { ...c, phase: 'challenged', checked, deadlines: { mediateDeadline: deal.mediateDeadline } },
      outputs: [
        sendOutput(`challenge:${dealId}`, 'ResultsChallenged', message, equivocation ? [deal.resourceProvider] : [deal.resourceProvider, ...deal.mediators],
          { attach: [dealId, c.resultsId ?? '', c.jobOfferId] }),
        // the provider's signed results go with the challenge: a challenge of results the chain has no
        // commitment of needs them, and results other than those committed prove an equivocation
        { type: 'chain.challenge', id: `chain-challenge:${dealId}`, dealId, evidence: [dealId, `challenge:${dealId}`, c.resultsId ?? ''] }
      ]
    }
  }

  /**
   * Before it challenges, the job creator reads the deal on chain: if the provider committed results
   * other than those it signed to us, the challenge settles at once and no mediator need re-run the job.
   */
  function readBeforeChallenge (c: JobCreatorContext, checked: boolean): D {
    const { dealId } = theDeal(c)
    return { context: { ...c, phase: 'verifying', checked }, outputs: [{ type: 'chain.watch', id: `before-challenge:${dealId}`, dealId }] }
  }

  /** Whether the chain holds a commitment of results other than those the provider signed to us. */
  function equivocated (c: JobCreatorContext, e: InputEvent): boolean {
    return e.state === 'ResultsSubmitted' && typeof e.resultsCidHash === 'string' && e.resultsCidHash !== resultsCidHash(c.resultsCid ?? '')
  }

  /** The provider's deposit read before we sign: sign if it covers what the deal locks of it, else walk away. */
  function onDepositRead (c: JobCreatorContext, e: InputEvent): D {
    inPhase(c, 'agreeing')
    const { deal, dealId } = theDeal(c)
    if (e.effect !== `funds:${dealId}` || c.providerFunded !== null) violation('WRONG_DEAL', 'the answer to another read')
    const deposit = e.type === 'chain.deposit' ? depositOf(e) : undefined
    if (deposit !== undefined && depositCovers(deposit, providerLock(deal))) {
      return { context: { ...c, providerFunded: true }, outputs: [sendOutput(`sign-deal:${dealId}`, 'Deal', deal, [deal.resourceProvider])] }
    }
    // a provider whose deposit cannot pay what it owes if it fails is no counterparty: another match may come
    const reason = deposit !== undefined
      ? `the provider's deposit ${deposit.balance} (${deposit.withdrawing} leaving, ${deposit.lockedWithUs + deposit.lockedWithOthers} in its open deals) does not cover the ${providerLock(deal)} this deal locks`
      : `its deposit could not be read: ${String(e.error)}`
    return {
      context: { ...c, phase: 'offering', deal: null, dealId: null, providerFunded: null, failedDeals: [...c.failedDeals, dealId].slice(-16), deadlines: { matchDeadline: c.job.matchDeadline } },
      outputs: [{ type: 'deal.declined', id: `declined:${dealId}`, dealId, reason }]
    }
  }

  function onMessage (c: JobCreatorContext, e: InputEvent): D {
    const type = (e.envelope as { type?: string } | undefined)?.type
    switch (type) {
      case 'MatchProposal': {
        inPhase(c, 'offering')
        const proposal = expectMessage(messages, c.domain, e.envelope, 'MatchProposal', e.at)
        if (e.at > c.job.matchDeadline) violation('LATE', 'the match deadline has passed')
        const offer = expectAttachment(messages, c.domain, e as never, 'ResourceOffer')
        const job = ownVerified('JobOffer', c.jobOfferId, c.job)
        checkProposal(job, offer, proposal)
        const deal = buildDeal(job, offer, proposal, messages)
        const dealId = dealIdOf(c.domain, deal, messages)
        if (c.failedDeals.includes(dealId)) violation('DUPLICATE', 'an agreement on this proposal already fell through')
        // the creator signs only once it knows the provider's collateral is there to compensate it
        return {
          context: { ...c, phase: 'agreeing', deal, dealId, providerFunded: null, deadlines: { agreeDeadline: deal.agreeDeadline + AGREE_GRACE_MS } },
          outputs: [{ type: 'chain.readDeposit', id: `funds:${dealId}`, dealId, account: deal.resourceProvider }]
        }
      }
      case 'Deal': {
        inPhase(c, 'agreeing')
        const { deal } = theDeal(c)
        // the deal's expiry is its agree deadline; a co-signature arriving in the grace after it binds
        const signed = expectMessage(messages, c.domain, e.envelope, 'Deal', e.at, { ignoreExpiry: true })
        expectSameDeal(deal, signed.message)
        return { context: { ...c, phase: 'awaitingResults', deadlines: { submitDeadline: deal.submitDeadline } }, outputs: [] }
      }
      case 'ResultsSubmitted': {
        inPhase(c, 'awaitingResults')
        const { deal, dealId } = theDeal(c)
        const results = expectMessage(messages, c.domain, e.envelope, 'ResultsSubmitted', e.at)
        expectResultsOf(deal, dealId, results)
        expectBy(e.at, deal.submitDeadline, 'results')
        return {
          context: { ...c, phase: 'fetching', resultsId: results.id, resultsCid: results.message.resultsCid, deadlines: { judgeDeadline: deal.judgeDeadline } },
          outputs: [{ type: 'results.fetch', id: `fetch:${dealId}`, dealId, resultsCid: results.message.resultsCid, from: deal.resourceProvider }]
        }
      }
      case 'MediationVerdict': {
        inPhase(c, 'challenged')
        const { deal, dealId } = theDeal(c)
        const v = expectMessage(messages, c.domain, e.envelope, 'MediationVerdict', e.at)
        expectVerdictOf(deal, dealId, v, c.resultsCid)
        // the deal ends with the outcome the chain holds once the verdict is on it (chain.settled)
        return { context: { ...c, verdictsFrom: withVerdictFrom(c.verdictsFrom, v) }, outputs: [settleVerdict(dealId, v)] }
      }
      default:
        return violation('WRONG_STATE', `a job creator does not take ${String(type)} messages`)
    }
  }

  /** Every step: an event about a deal we keep watching goes there; the timers of those deals stay armed whatever the job does. */
  function decide (c: JobCreatorContext, e: InputEvent): D {
    const side = decideUnconfirmed(messages, c.domain, c.job.author, c.unconfirmed ?? [], c.deadlines, e)
    const d = side === undefined ? decideJob(c, e) : { context: { ...c, unconfirmed: side.kept }, outputs: side.outputs }
    return { ...d, context: { ...d.context, deadlines: withUnconfirmedTimers(d.context.deadlines, d.context.unconfirmed ?? []) } }
  }

  function decideJob (c: JobCreatorContext, e: InputEvent): D {
    switch (e.type) {
      case 'message.received':
        return onMessage(c, e)
      case 'job.cancel':
        // only while no deal is being signed: once we sign (agreeing), the deal may bind us
        inPhase(c, 'offering')
        return done(c, 'TimeoutMatch', [], { cancelled: true })
      case 'results.fetched': {
        inPhase(c, 'fetching')
        const { deal, dealId } = theDeal(c)
        if (e.effect !== `fetch:${dealId}`) violation('WRONG_DEAL', 'the result of another fetch')
        expectBy(e.at, deal.judgeDeadline, 'a fetch')
        if (e.ok !== true) return readBeforeChallenge(c, false)
        if (!shouldCheck(dealId, c.secret, c.checkRate)) return accept(c, e.at, false)
        return {
          context: { ...c, phase: 'verifying', checked: true },
          outputs: [{ type: 'job.run', id: `verify:${dealId}`, dealId, purpose: 'verify', job: c.job as never }]
        }
      }
      case 'job.finished': {
        inPhase(c, 'verifying')
        const { deal, dealId } = theDeal(c)
        if (e.effect !== `verify:${dealId}`) violation('WRONG_DEAL', 'the result of another run')
        expectBy(e.at, deal.judgeDeadline, 'a check')
        // a check that could not run here (no engine, no GPU) is asked of the mediator: it re-runs the
        // job, and the party its verdict goes against pays its fee
        if (!rerunJudges(String(e.resultsCid), e.failure, c.resultsCid)) return readBeforeChallenge(c, true)
        return e.resultsCid === c.resultsCid ? accept(c, e.at, true) : readBeforeChallenge(c, true)
      }
      case 'effect.failed':
        // a verdict the chain refused (not its judge's, or too late): the judge's own, or the mediate deadline, decides
        if (typeof e.effect === 'string' && e.effect.startsWith(SETTLE_VERDICT)) return { context: c, outputs: [] }
        // the chain could not be read before a challenge: the challenge goes to the mediator as well
        if (c.dealId !== null && e.effect === `before-challenge:${c.dealId}`) {
          inPhase(c, 'verifying')
          return challenge(c, e.at, c.checked ?? false)
        }
        return onDepositRead(c, e)
      case 'chain.deposit':
        return onDepositRead(c, e)
      case 'chain.committed': {
        // our TimeoutSubmit claim met results the provider committed on chain and never sent us: they
        // are judged as if they had come (else the provider claims TimeoutJudge for results we never saw)
        const { deal, dealId } = theDeal(c)
        if (c.outcome !== 'TimeoutSubmit') violation('WRONG_STATE', `not expected after ${String(c.outcome)}`)
        const results = expectMessage(messages, c.domain, e.envelope, 'ResultsSubmitted', e.at, { ignoreExpiry: true })
        expectResultsOf(deal, dealId, results)
        expectBy(e.at, deal.judgeDeadline, 'results read from the chain')
        return {
          context: { ...c, phase: 'fetching', outcome: null, resultsId: results.id, resultsCid: results.message.resultsCid, deadlines: { judgeDeadline: deal.judgeDeadline } },
          outputs: [{ type: 'results.fetch', id: `fetch:${dealId}`, dealId, resultsCid: results.message.resultsCid, from: deal.resourceProvider }]
        }
      }
      case 'chain.observed': {
        const { dealId } = theDeal(c)
        if (e.effect === `before-challenge:${dealId}`) {
          // what the chain holds for the deal whose results we are about to challenge
          inPhase(c, 'verifying')
          if (e.state === 'Settled' && isDealOutcome(e.outcome)) return done(c, e.outcome)
          return challenge(c, e.at, c.checked ?? false, equivocated(c, e))
        }
        // what the chain holds for our accepted deal at the settle guard
        if (e.effect !== `watch:${dealId}`) violation('WRONG_DEAL', 'the chain\'s word on another deal')
        if (c.outcome !== 'Accepted') violation('WRONG_STATE', `not expected after ${String(c.outcome)}`)
        if (e.state === 'Settled' && isDealOutcome(e.outcome)) return done(c, e.outcome)
        if (e.state !== 'ResultsSubmitted') return { context: c, outputs: [] }
        // the provider committed a CID other than the one it signed to us: its two signatures settle the deal against it
        if (equivocated(c, e)) return challenge(c, e.at, c.checked ?? false, true)
        return { context: c, outputs: [{ type: 'chain.settle', id: `settle:${dealId}`, dealId, outcome: 'Accepted', evidence: [dealId, `accept:${dealId}`] }] }
      }
      case 'chain.settled': {
        // the chain's outcome is the deal's, whoever settled it: a claim of ours may have been overtaken
        const { dealId } = theDeal(c)
        if (e.dealId !== dealId) violation('WRONG_DEAL', 'settlement of another deal')
        if (!isDealOutcome(e.outcome)) violation('INCONSISTENT', `not a deal outcome: ${String(e.outcome)}`)
        return done(c, e.outcome)
      }
      case 'timer.fired': {
        const timer = expectTimer(c.deadlines, e)
        const dealId = c.dealId ?? ''
        switch (timer) {
          case 'matchDeadline': return done(c, 'TimeoutMatch')
          case 'settleGuard':
            return { context: { ...c, deadlines: {} }, outputs: [{ type: 'chain.watch', id: `watch:${dealId}`, dealId }] }
          case 'agreeDeadline': {
            // a deal we signed may bind us all the same: the provider's co-signature may just not have come
            const unconfirmed = c.providerFunded === true && c.deal !== null && c.dealId !== null
              ? keepUnconfirmed(c.unconfirmed ?? [], c.dealId, c.deal)
              : c.unconfirmed
            if (e.at < c.job.matchDeadline) {
              const failedDeals = c.dealId === null ? c.failedDeals : [...c.failedDeals, c.dealId].slice(-16)
              return { context: { ...c, phase: 'offering', deal: null, dealId: null, failedDeals, unconfirmed, deadlines: { matchDeadline: c.job.matchDeadline } }, outputs: [] }
            }
            return done(c, 'TimeoutAgree', [], { unconfirmed })
          }
          case 'submitDeadline':
            return done(c, 'TimeoutSubmit', [{ type: 'chain.claim', id: `claim:${dealId}`, dealId, claim: 'TimeoutSubmit', evidence: [dealId] }])
          case 'judgeDeadline': return done(c, 'TimeoutJudge')
          case 'mediateDeadline':
            // its own id: a TimeoutSubmit claim may have come first (results read from the chain, then challenged)
            return done(c, 'TimeoutMediate', [{ type: 'chain.claim', id: `claim-mediate:${dealId}`, dealId, claim: 'TimeoutMediate', evidence: [dealId] }])
          default: return violation('EARLY_TIMER', `unknown timer ${timer}`)
        }
      }
      default:
        return violation('UNKNOWN_EVENT', `a job creator does not take ${e.type}`)
    }
  }

  return { init, initialOutputs, decide }
}

export const jobCreatorDecider = createJobCreatorDecider(nodeMessages)
export const jobCreatorMachine = deciderMachine('job-creator', jobCreatorDecider)
