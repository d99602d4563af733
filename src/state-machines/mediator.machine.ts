/**
 * The mediator, one machine per node: takes a challenge of a deal that names it among its mediators
 * (with the deal, the submitted results and the job offer attached); if the chain draws it as the
 * judge, it takes the case, fetches the results and re-runs the job,
 * compares the CIDs and signs a verdict. Results it cannot fetch count against the provider.
 * It claims its fee only through the verdict it signed, and nothing when it missed the deadline.
 * It mediates only a dispute registered on chain (the deal in mediation before this mediator): a
 * challenge on the wire alone, of a deal made up between two throwaway keys, buys no re-run. Before
 * it takes the case on chain (which makes it answer for the mediate deadline) it checks that the job
 * can run here, as a provider does before it signs.
 */
import type { Deal, JobOffer, MediatorAnnouncement } from '../protocols/messages/schemas.ts'
import type { Deadlines, InputEvent, MachineOutput } from './contract.ts'
import { expectAttachment, expectMessage, expectTimer, includesAddress, publishOutput, sameAddress, sendOutput, type DomainJson } from './common.ts'
import { expectChallengeOf, expectResultsOf, rerunJudges, takeDeadline } from './deal-lifecycle.ts'
import { deciderMachine, type Decider, type Decision } from './decider.ts'
import { nodeMessages, type Messages } from '../protocols/messages/signing.ts'
import { emptyRecord, withEntry, withoutEntries } from './records.ts'
import { violation } from './rejection.ts'

export const VERDICTS_TOPIC = 'lilypad/verdicts'
export const MEDIATORS_TOPIC = 'lilypad/mediators'

/** How long a mediator's announcement of itself is good for; it is renewed halfway. */
export const ANNOUNCE_TTL_MS = 10 * 60_000

/** How often a challenge the chain does not hold yet is read again (its transaction may still be on its way). */
export const CONFIRM_RETRY_MS = 3_000
/** How long after the judge deadline, the last moment the chain takes a challenge, it is still looked for (block time, clocks apart). */
export const CONFIRM_GRACE_MS = 60_000
/**
 * Challenges waiting for the chain at once. Past it, the one waiting longest is dropped: an honest
 * challenge is on chain within a block or two, so made-up ones sent to crowd it out must keep coming
 * faster than that, and reads stay bounded.
 */
export const MAX_CONFIRMING = 256
/**
 * How often a mediator the chain did not draw reads a deal in mediation again, while nobody has
 * taken its case and it still may be: a judge that lets the draw lapse (DRAW_BLOCKS blocks) is
 * replaced by a fresh draw, which may name this one.
 */
export const REDRAW_READ_MS = 60_000

export interface MediatorInput {
  domain: DomainJson
  self: string
  /** how many mediations may run at once */
  capacity: number
  /** the least mediator fee, in wei as a decimal string, of a deal this mediator re-runs a job for (none: any) */
  fee?: string
  /** where peers reach it, told in its announcements */
  multiaddrs?: string[]
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
   * confirming: the chain is read, again every few seconds, until it shows the deal in mediation
   * with this mediator drawn as its judge; only then is the job re-run. A deal the chain settled (a provider's
   * equivocation settles at once) needs no mediation; one never challenged on chain by the judge
   * deadline (and a grace for the transaction to land) is dropped.
   * preparing: the chain drew this mediator to judge the deal; the job's module and image
   * are made ready, and the case is taken only if the job can run here.
   */
  state: 'confirming' | 'preparing' | 'running' | 'decided' | 'missed' | 'settled' | 'declined'
  /** when the challenge came */
  since: number
  providerAtFault: boolean | null
}

export interface MediatorContext {
  domain: DomainJson
  self: string
  capacity: number
  fee: string
  multiaddrs?: string[]
  /** the announcement of itself it published last (signed and sent by the effect) */
  announcement?: MediatorAnnouncement
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
    const c: C = { domain: input.domain, self: input.self, capacity: input.capacity, fee: input.fee ?? '0', multiaddrs: input.multiaddrs ?? [], mediations: emptyRecord(), deadlines: emptyRecord() }
    return announced(c, input.at)
  }

  /**
   * The mediator tells the mesh it is there (DESIGN §5): its fee, its capacity and where to reach
   * it, good for ANNOUNCE_TTL_MS and renewed halfway, so that parties can pick mediators that are up.
   */
  function announced (c: C, at: number): C {
    const announcement: MediatorAnnouncement = {
      author: c.self, nonce: String(at), expiry: at + ANNOUNCE_TTL_MS, fee: c.fee, capacity: c.capacity, multiaddrs: c.multiaddrs ?? []
    }
    return { ...c, announcement, deadlines: withEntry(c.deadlines, 'announce', at + ANNOUNCE_TTL_MS / 2) }
  }

  function announceOutput (c: C): MachineOutput[] {
    const a = c.announcement
    return a === undefined ? [] : [publishOutput(`announce:${a.nonce}`, 'MediatorAnnouncement', a, MEDIATORS_TOPIC)]
  }

  function running (c: C, dealId: string): Mediation {
    const m = c.mediations[dealId]
    if (m === undefined) return violation('WRONG_DEAL', `no mediation of ${dealId}`)
    if (m.state !== 'running') violation('WRONG_STATE', `the mediation of ${dealId} is ${m.state}`)
    return m
  }

  function withoutTimer (c: C, dealId: string): Deadlines {
    const timers = [`mediate:${dealId}`, `confirm:${dealId}`]
    return withoutEntries(c.deadlines, key => timers.includes(key))
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
    const deal = expectAttachment(messages, c.domain, e as never, 'Deal')
    const dealId = challenge.message.dealId
    if (deal.id !== dealId) violation('WRONG_DEAL', 'the attached deal is another one')
    if (!includesAddress(deal.message.mediators, c.self)) violation('UNTRUSTED', 'the deal does not name this mediator')
    // a re-run is paid for: a deal that pays less than this mediator asks (a made-up one with no fee) buys
    // none; a quorum deal splits its fee among the verdicts that settle it
    const share = BigInt(deal.message.mediatorFee) / BigInt(deal.message.quorum)
    if (share < BigInt(c.fee ?? '0')) violation('UNDERPAID', `the deal pays a mediator ${share} wei, this one asks ${c.fee}`)
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
    const mediations = Object.values(c.mediations)
    const active = mediations.filter(m => m.state === 'running' || m.state === 'preparing').length
    if (active >= c.capacity) violation('NO_CAPACITY', `already running ${active} mediations`)
    if (e.at > deal.message.mediateDeadline) violation('LATE', 'challenged after the mediate deadline')
    // a provider may pass on a challenge the creator posted on chain and told no one of, after the
    // judge deadline: it is taken, as every challenge is, once the chain shows the deal in mediation
    const mediation: Mediation = { deal: deal.message, job: job.message, resultsCid: results.message.resultsCid, fetched: null, rerunCid: null, state: 'confirming', providerAtFault: null, since: e.at }
    const kept = withoutLongestWaiting(settledMediationsDropped(c, e.at))
    return { context: { ...c, mediations: withEntry(kept, dealId, mediation) }, outputs: [readChain(dealId, e.at)] }
  }

  /** The mediations, less the challenge waiting longest for the chain when as many wait as may. */
  function withoutLongestWaiting (mediations: Record<string, Mediation>): Record<string, Mediation> {
    const waiting = Object.entries(mediations).filter(([, m]) => m.state === 'confirming')
    if (waiting.length < MAX_CONFIRMING) return mediations
    const [oldest] = waiting.reduce((a, b) => (b[1].since < a[1].since ? b : a))
    return withoutEntries(mediations, id => id === oldest)
  }

  /** A read of the deal's record on chain; each read is its own effect. */
  function readChain (dealId: string, at: number): MachineOutput {
    return { type: 'chain.watch', id: `confirm:${dealId}:${at}`, dealId }
  }

  /** The chain does not show the challenge (yet): read again shortly, or drop it once it can no longer come. */
  function notYetOnChain (c: C, dealId: string, m: Mediation, at: number): D {
    if (at > m.deal.judgeDeadline + CONFIRM_GRACE_MS) return dropped(c, dealId)
    return { context: { ...c, deadlines: withEntry(c.deadlines, `confirm:${dealId}`, at + CONFIRM_RETRY_MS) }, outputs: [] }
  }

  /** A mediation this mediator will not judge: forgotten, and the same challenge again is read afresh. */
  function dropped (c: C, dealId: string): D {
    return { context: { ...c, mediations: withoutEntries(c.mediations, id => id === dealId), deadlines: withoutTimer(c, dealId) }, outputs: [] }
  }

  /** Another mediator is drawn and has not taken the case: read again later, while the case may still be taken. */
  function awaitingRedraw (c: C, dealId: string, m: Mediation, at: number): D {
    const next = at + REDRAW_READ_MS
    if (next > takeDeadline(m.deal)) return dropped(c, dealId)
    return { context: { ...c, deadlines: withEntry(c.deadlines, `confirm:${dealId}`, next) }, outputs: [] }
  }

  /** The deal a read of the chain before a mediation was about. */
  function confirmedDeal (e: InputEvent): string {
    const [prefix, dealId] = typeof e.effect === 'string' ? e.effect.split(':') : []
    return prefix === 'confirm' && dealId !== undefined ? dealId : ''
  }

  /**
   * Whether the chain's record lets the mediation go on: the deal in mediation, and this mediator
   * drawn to judge it; on a quorum deal, every mediator of the deal judges it.
   */
  function confirmed (c: C, m: Mediation, e: InputEvent): boolean {
    if (e.state !== 'Mediating') return false
    return m.deal.quorum > 1 || (typeof e.mediator === 'string' && sameAddress(e.mediator, c.self))
  }

  /** Makes the job ready to run here (module, spec hash, image, a timeout that fits the mediate deadline) before taking the case. */
  function prepare (c: C, dealId: string, m: Mediation, at: number): D {
    return {
      context: {
        ...c,
        mediations: withEntry(c.mediations, dealId, { ...m, state: 'preparing' }),
        deadlines: withEntry(withoutTimer(c, dealId), `mediate:${dealId}`, m.deal.mediateDeadline)
      },
      outputs: [{ type: 'job.prepare', id: `prepare:${dealId}`, dealId, job: m.job as never, maxDurationMs: m.deal.mediateDeadline - at }]
    }
  }

  /** Gives up a case before taking it, or one that could not be taken: no verdict would settle it. */
  function giveUp (c: C, dealId: string, m: Mediation, reason: string): D {
    return {
      context: { ...c, mediations: withEntry(c.mediations, dealId, { ...m, state: 'declined' }), deadlines: withoutTimer(c, dealId) },
      outputs: [{ type: 'deal.declined', id: `declined:${dealId}`, dealId, reason }]
    }
  }

  /**
   * Takes the case on chain (which commits this mediator to the mediate deadline, and without which its
   * verdict settles nothing), fetches the results and re-runs the job, until the mediate deadline.
   */
  function begin (c: C, dealId: string, m: Mediation): D {
    return {
      context: {
        ...c,
        mediations: withEntry(c.mediations, dealId, { ...m, state: 'running' }),
        deadlines: withEntry(withoutTimer(c, dealId), `mediate:${dealId}`, m.deal.mediateDeadline)
      },
      outputs: [
        { type: 'chain.takeCase', id: `take:${dealId}`, dealId },
        { type: 'results.fetch', id: `fetch:${dealId}`, dealId, resultsCid: m.resultsCid, from: m.deal.resourceProvider },
        { type: 'job.run', id: `rerun:${dealId}`, dealId, purpose: 'mediate', job: m.job as never }
      ]
    }
  }

  function caseNotTaken (c: C, dealId: string, e: InputEvent): D {
    return giveUp(c, dealId, running(c, dealId), `the case could not be taken on chain (${String(e.error ?? 'no reason given')}): no verdict would settle it`)
  }

  function preparing (c: C, dealId: string): Mediation {
    const m = c.mediations[dealId]
    if (m?.state !== 'preparing') return violation('WRONG_STATE', `no mediation of ${dealId} is being prepared`)
    return m
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
      case 'job.prepared': {
        const dealId = effectDeal(e, 'prepare:')
        const m = preparing(c, dealId)
        if (e.ok === true) return begin(c, dealId, m)
        return giveUp(c, dealId, m, `the job cannot run here (${String(e.failure ?? 'no reason given')}${typeof e.reason === 'string' ? `: ${e.reason}` : ''}): the case is not taken`)
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
        if (confirmed(c, m, e)) return prepare(c, dealId, m, e.at)
        // settled already: nothing to mediate, and the same challenge again changes nothing
        if (e.state === 'Settled') return { context: { ...c, mediations: withEntry(c.mediations, dealId, { ...m, state: 'settled' }), deadlines: withoutTimer(c, dealId) }, outputs: [] }
        // in mediation, its case taken by another mediator: not ours
        if (e.state === 'Mediating' && e.caseTaken === true) return dropped(c, dealId)
        // another mediator drawn, the case not taken yet: a fresh draw may name this one
        if (e.state === 'Mediating' && typeof e.mediator === 'string') return awaitingRedraw(c, dealId, m, e.at)
        return notYetOnChain(c, dealId, m, e.at)
      }
      case 'chain.settled': {
        // the chain settled the deal our verdict was about (our transaction, or another party's): nothing more to do
        const dealId = effectDeal(e, 'settle:')
        if (c.mediations[dealId] === undefined) return violation('WRONG_DEAL', `no mediation of ${dealId}`)
        return { context: c, outputs: [] }
      }
      case 'effect.failed': {
        // an announcement that could not go out: the next renewal sends a fresh one
        if (typeof e.effect === 'string' && e.effect.startsWith('announce:')) return { context: c, outputs: [] }
        // a case not taken in time can no longer be settled by a verdict: the mediation stops here
        const untaken = effectDeal(e, 'take:')
        if (untaken !== '') return caseNotTaken(c, untaken, e)
        const unprepared = effectDeal(e, 'prepare:')
        if (unprepared !== '') return giveUp(c, unprepared, preparing(c, unprepared), `the job could not be made ready here (${String(e.error ?? 'no reason given')}): the case is not taken`)
        // the chain could not be read: read again, as long as the challenge may still be there
        const dealId = confirmedDeal(e)
        const m = c.mediations[dealId]
        if (m?.state !== 'confirming') return violation('WRONG_STATE', `no challenge of ${dealId} awaits the chain`)
        return notYetOnChain(c, dealId, m, e.at)
      }
      case 'timer.fired': {
        const timer = expectTimer(c.deadlines, e)
        if (timer === 'announce') {
          const renewed = announced(c, e.at)
          return { context: renewed, outputs: announceOutput(renewed) }
        }
        if (timer.startsWith('confirm:')) {
          const dealId = timer.slice('confirm:'.length)
          const m = c.mediations[dealId]
          const deadlines = withoutEntries(c.deadlines, k => k === timer)
          if (m?.state !== 'confirming') return { context: { ...c, deadlines }, outputs: [] }
          return { context: { ...c, deadlines }, outputs: [readChain(dealId, e.at)] }
        }
        const dealId = timer.startsWith('mediate:') ? timer.slice('mediate:'.length) : ''
        const m = c.mediations[dealId]?.state === 'preparing' ? preparing(c, dealId) : running(c, dealId)
        return { context: { ...c, mediations: withEntry(c.mediations, dealId, { ...m, state: 'missed' }), deadlines: withoutTimer(c, dealId) }, outputs: [] }
      }
      default:
        return violation('UNKNOWN_EVENT', `a mediator does not take ${e.type}`)
    }
  }

  return { init, initialOutputs: announceOutput, decide }
}

export const mediatorDecider = createMediatorDecider(nodeMessages)
export const mediatorMachine = deciderMachine('mediator', mediatorDecider)
