/**
 * The mediator, one machine per node: takes a challenge for a deal that names it (with the deal,
 * the submitted results and the job offer attached), fetches the results and re-runs the job,
 * compares the CIDs and signs a verdict. Results it cannot fetch count against the provider.
 * It claims its fee only through the verdict it signed, and nothing when it missed the deadline.
 */
import type { Deal, JobOffer } from '../protocols/messages/schemas.ts'
import type { Deadlines, InputEvent, MachineOutput } from './contract.ts'
import { expectAttachment, expectMessage, expectTimer, includesAddress, sameAddress, sendOutput, type DomainJson } from './common.ts'
import { expectChallengeOf, expectResultsOf, rerunJudges } from './deal-lifecycle.ts'
import { deciderMachine, type Decider, type Decision } from './decider.ts'
import { nodeMessages, type Messages } from '../protocols/messages/signing.ts'
import { emptyRecord, withEntry, withoutEntries } from './records.ts'
import { violation } from './rejection.ts'

export const VERDICTS_TOPIC = 'lilypad/verdicts'

export interface MediatorInput {
  domain: DomainJson
  self: string
  /** how many mediations may run at once */
  capacity: number
  at: number
}

interface Mediation {
  deal: Deal
  job: JobOffer
  resultsCid: string
  fetched: boolean | null
  rerunCid: string | null
  /** the failure code of a re-run that could not run the job here */
  rerunFailure?: string
  /**
   * confirming: the chain is read before the job is re-run. A deal the chain already settled (a
   * provider's equivocation settles at once) needs no mediation, and a challenge that came after the
   * judge deadline is taken only if the chain shows it was posted in time.
   */
  state: 'confirming' | 'running' | 'decided' | 'missed' | 'settled' | 'declined'
  /** the challenge came after the judge deadline */
  late: boolean
  providerAtFault: boolean | null
}

export interface MediatorContext {
  domain: DomainJson
  self: string
  capacity: number
  mediations: Record<string, Mediation>
  deadlines: Deadlines
}

type C = MediatorContext
type D = Decision<C>

/**
 * The mediator's decider, which checks messages with `messages`: a node's own
 * (`nodeMessages`), or one a simulation made for all its parties.
 */
export function createMediatorDecider (messages: Messages): Decider<MediatorContext, MediatorInput> {
  function init (input: MediatorInput): C {
    return { domain: input.domain, self: input.self, capacity: input.capacity, mediations: emptyRecord(), deadlines: emptyRecord() }
  }

  function running (c: C, dealId: string): Mediation {
    const m = c.mediations[dealId]
    if (m === undefined) return violation('WRONG_DEAL', `no mediation of ${dealId}`)
    if (m.state !== 'running') violation('WRONG_STATE', `the mediation of ${dealId} is ${m.state}`)
    return m
  }

  function withoutTimer (c: C, dealId: string): Deadlines {
    const timer = `mediate:${dealId}`
    return withoutEntries(c.deadlines, key => key === timer)
  }

  /**
   * The mediations without those that ended and whose deal's mediate deadline has passed: nothing about
   * them can come any more (a challenge after the judge deadline is refused as LATE), and a mediator
   * that runs for months keeps a context the size of its recent mediations. Its log keeps them all.
   */
  function settledMediationsDropped (c: C, at: number): Record<string, Mediation> {
    return withoutEntries(c.mediations, (_, m) => m.state !== 'running' && m.deal.mediateDeadline < at)
  }

  /** Once both the fetch and the re-run are in, decide and sign. */
  function maybeDecide (c: C, dealId: string, m: Mediation, at: number): D {
    if (m.fetched === null || m.rerunCid === null) return { context: { ...c, mediations: withEntry(c.mediations, dealId, m) }, outputs: [] }
    // a re-run that failed for this machine's own reason (no GPU here, say) cannot judge the provider:
    // no verdict, rather than one against results another machine may reproduce
    if (!rerunJudges(m.rerunCid, m.rerunFailure, m.resultsCid)) {
      return {
        context: { ...c, mediations: withEntry(c.mediations, dealId, { ...m, state: 'declined' }), deadlines: withoutTimer(c, dealId) },
        outputs: [{ type: 'deal.declined', id: `declined:${dealId}`, dealId, reason: `the re-run could not run the job here (${String(m.rerunFailure)}): it cannot judge the provider's results` }]
      }
    }
    const providerAtFault = !m.fetched || m.rerunCid !== m.resultsCid
    const verdict = {
      author: c.self,
      nonce: String(at),
      expiry: m.deal.mediateDeadline,
      dealId,
      resultsCid: m.resultsCid,
      mediatorCid: m.rerunCid,
      providerAtFault
    }
    const outcome = providerAtFault ? 'MediationRejected' : 'MediationAccepted'
    return {
      context: { ...c, mediations: withEntry(c.mediations, dealId, { ...m, state: 'decided', providerAtFault }), deadlines: withoutTimer(c, dealId) },
      outputs: [
        sendOutput(`verdict:${dealId}`, 'MediationVerdict', verdict, [m.deal.jobCreator, m.deal.resourceProvider], { topic: VERDICTS_TOPIC }),
        { type: 'chain.settle', id: `settle:${dealId}`, dealId, outcome, evidence: [dealId, `verdict:${dealId}`] }
      ]
    }
  }

  function onChallenge (c: C, e: InputEvent): D {
    const challenge = expectMessage(messages, c.domain, e.envelope, 'ResultsChallenged', e.at)
    if (!sameAddress(challenge.message.mediator, c.self)) violation('WRONG_PARTY', 'the challenge names another mediator')
    const deal = expectAttachment(messages, c.domain, e as never, 'Deal')
    const dealId = challenge.message.dealId
    if (deal.id !== dealId) violation('WRONG_DEAL', 'the attached deal is another one')
    if (!includesAddress(deal.message.mediators, c.self)) violation('UNTRUSTED', 'the deal does not name this mediator')
    const results = expectAttachment(messages, c.domain, e as never, 'ResultsSubmitted')
    expectResultsOf(deal.message, dealId, results)
    expectChallengeOf(deal.message, dealId, challenge, results.message.resultsCid)
    const job = expectAttachment(messages, c.domain, e as never, 'JobOffer')
    if (job.id !== deal.message.jobOfferId) violation('INCONSISTENT', 'the attached job offer is not the deal\'s')
    // the provider passes the challenge on as well (a creator may challenge and tell no one): the
    // same challenge twice is one mediation; another one of a deal in mediation is refused
    const known = c.mediations[dealId]
    if (known !== undefined && known.resultsCid === challenge.message.resultsCid) return { context: c, outputs: [] }
    if (known !== undefined) violation('DUPLICATE', 'already mediating this deal')
    const active = Object.values(c.mediations).filter(m => m.state === 'running' || m.state === 'confirming').length
    if (active >= c.capacity) violation('NO_CAPACITY', `already running ${active} mediations`)
    if (e.at > deal.message.mediateDeadline) violation('LATE', 'challenged after the mediate deadline')
    // a provider may pass on a challenge the creator posted on chain and told no one of, after the
    // judge deadline: it is taken once the chain shows the deal in mediation before this mediator
    const late = e.at > deal.message.judgeDeadline
    const mediation: Mediation = { deal: deal.message, job: job.message, resultsCid: results.message.resultsCid, fetched: null, rerunCid: null, state: 'confirming', providerAtFault: null, late }
    return {
      context: { ...c, mediations: withEntry(settledMediationsDropped(c, e.at), dealId, mediation) },
      // a late challenge dropped may come again, once on chain: each read is its own effect
      outputs: [{ type: 'chain.watch', id: `confirm:${dealId}:${e.at}`, dealId }]
    }
  }

  /** The deal a read of the chain before a mediation was about. */
  function confirmedDeal (e: InputEvent): string {
    const [prefix, dealId] = typeof e.effect === 'string' ? e.effect.split(':') : []
    return prefix === 'confirm' && dealId !== undefined ? dealId : ''
  }

  /** Whether the chain's record lets the mediation go on: not settled, and in mediation before us if the challenge came late. */
  function confirmed (c: C, m: Mediation, e: InputEvent): boolean {
    if (m.late) return e.state === 'Mediating' && typeof e.mediator === 'string' && sameAddress(e.mediator, c.self)
    return e.state !== 'Settled'
  }

  /** Fetches the results and re-runs the job, until the mediate deadline. */
  function begin (c: C, dealId: string, m: Mediation): D {
    return {
      context: {
        ...c,
        mediations: withEntry(c.mediations, dealId, { ...m, state: 'running' }),
        deadlines: withEntry(c.deadlines, `mediate:${dealId}`, m.deal.mediateDeadline)
      },
      outputs: [
        { type: 'results.fetch', id: `fetch:${dealId}`, dealId, resultsCid: m.resultsCid, from: m.deal.resourceProvider },
        { type: 'job.run', id: `rerun:${dealId}`, dealId, purpose: 'mediate', job: m.job as never }
      ]
    }
  }

  function effectDeal (e: InputEvent, prefix: string): string {
    return typeof e.effect === 'string' && e.effect.startsWith(prefix) ? e.effect.slice(prefix.length) : ''
  }

  function decide (c: C, e: InputEvent): D {
    switch (e.type) {
      case 'message.received': {
        const type = (e.envelope as { type?: string } | undefined)?.type
        if (type !== 'ResultsChallenged') violation('WRONG_STATE', `a mediator does not take ${String(type)} messages`)
        return onChallenge(c, e)
      }
      case 'results.fetched': {
        const dealId = effectDeal(e, 'fetch:')
        const m = running(c, dealId)
        if (m.fetched !== null) violation('DUPLICATE', 'fetch already reported')
        return maybeDecide(c, dealId, { ...m, fetched: e.ok === true }, e.at)
      }
      case 'job.finished': {
        const dealId = effectDeal(e, 'rerun:')
        const m = running(c, dealId)
        if (m.rerunCid !== null) violation('DUPLICATE', 're-run already reported')
        if (typeof e.resultsCid !== 'string' || e.resultsCid === '') violation('INCONSISTENT', 'a finished run needs its results CID')
        const failure = typeof e.failure === 'string' ? { rerunFailure: e.failure } : {}
        return maybeDecide(c, dealId, { ...m, rerunCid: e.resultsCid, ...failure }, e.at)
      }
      case 'chain.observed': {
        const dealId = confirmedDeal(e)
        const m = c.mediations[dealId]
        if (m?.state !== 'confirming') return violation('WRONG_STATE', `no challenge of ${dealId} awaits the chain`)
        if (confirmed(c, m, e)) return begin(c, dealId, m)
        // settled already: nothing to mediate, and the same challenge again changes nothing
        if (e.state === 'Settled') return { context: { ...c, mediations: withEntry(c.mediations, dealId, { ...m, state: 'settled' }) }, outputs: [] }
        // a late challenge not in mediation before us on chain: dropped; it may come again
        return { context: { ...c, mediations: withoutEntries(c.mediations, id => id === dealId) }, outputs: [] }
      }
      case 'effect.failed': {
        // the chain could not be read: a challenge that came in time is mediated all the same
        const dealId = confirmedDeal(e)
        const m = c.mediations[dealId]
        if (m?.state !== 'confirming') return violation('WRONG_STATE', `no challenge of ${dealId} awaits the chain`)
        if (!m.late) return begin(c, dealId, m)
        return { context: { ...c, mediations: withoutEntries(c.mediations, id => id === dealId) }, outputs: [] }
      }
      case 'timer.fired': {
        const timer = expectTimer(c.deadlines, e)
        const dealId = timer.startsWith('mediate:') ? timer.slice('mediate:'.length) : ''
        const m = running(c, dealId)
        return { context: { ...c, mediations: withEntry(c.mediations, dealId, { ...m, state: 'missed' }), deadlines: withoutTimer(c, dealId) }, outputs: [] }
      }
      default:
        return violation('UNKNOWN_EVENT', `a mediator does not take ${e.type}`)
    }
  }

  return { init, initialOutputs: (): MachineOutput[] => [], decide }
}

export const mediatorDecider = createMediatorDecider(nodeMessages)
export const mediatorMachine = deciderMachine('mediator', mediatorDecider)
