/**
 * The resource provider, one machine per node: offers its configured slots, evaluates proposals
 * and deals against its own offer and free slots, signs at most one deal per slot, runs the job,
 * submits results, answers challenges, and claims the deadlines that favour it.
 */
import type { Deal, ResourceOffer } from '../protocols/messages/schemas.ts'
import type { Deadlines, InputEvent, MachineOutput } from './contract.ts'
import type { Envelope, Verified } from '../protocols/messages/envelope.ts'
import { expectAttachment, expectMessage, expectTimer, extended, publishOutput, sameAddress, sameList, sendOutput, type DomainJson } from './common.ts'
import { checkProposal, dealId as dealIdOf, expectDealOf } from './deal-terms.ts'
import { DEAL_OUTCOMES, isDealOutcome, type DealState } from './deal-states.ts'
import { deciderMachine, type Decider, type Decision } from './decider.ts'
import { nodeMessages, type Messages } from '../protocols/messages/signing.ts'
import { commitAt, creatorLock, depositCovers, depositOf, expectAcceptanceOf, expectBoundedLifetime, expectBy, expectChallengeOf, expectVerdictOf, settleVerdict, SETTLE_VERDICT, withVerdictFrom } from './deal-lifecycle.ts'
import { emptyRecord, withEntry, withoutEntries } from './records.ts'
import { ProtocolViolation, violation } from './rejection.ts'
import { ownMessage, ownVerified } from './verified-own.ts'
import { ADDRESS, LIMITS } from '../protocols/messages/fields.ts'

export const RESOURCE_OFFERS_TOPIC = 'lilypad/resource-offers'
export const DEALS_TOPIC = 'lilypad/deals'

export type SlotTerms = Omit<ResourceOffer, 'author' | 'nonce' | 'expiry' | 'slot'>

export interface ResourceProviderInput {
  domain: DomainJson
  self: string
  slots: SlotTerms[]
  /** how long each published offer stays valid before it is renewed */
  offerTtlMs?: number
  /** results not accepted this long before the submit deadline are committed on chain */
  commitMarginMs?: number
  at: number
}

/**
 * One of the provider's slots: its terms, its current offer, and the id of the deal under way on it,
 * if any. A deal's deadlines are named after its slot: `submit:0`, `judge:0`, `commit:0`, `mediate:0`.
 */
interface SlotState {
  terms: SlotTerms
  offer: ResourceOffer
  offerId: string
  dealId: string | null
}

interface ProposalState {
  /** the proposal's id */
  id: string
  slot: number
  proposal: InputEvent['envelope']
  jobOffer: InputEvent['envelope']
  expiry: number
}

interface DealRecord {
  slot: number
  deal: Deal
  /** Matched while the checks before co-signing run; then Agreed, ResultsSubmitted, Mediating */
  state: DealState
  /** while Matched: the job offer, which the checks before co-signing and the run read; dropped once agreed */
  jobOffer?: InputEvent['envelope']
  resultsCid: string | null
  /** while Matched: the creator's signature, and what the checks before co-signing found */
  signing?: SigningChecks
  /** in mediation: the mediators whose verdict we put on chain (one each) */
  verdictsFrom?: string[]
}

/** What a provider makes sure of before it co-signs, and so binds its collateral. */
interface SigningChecks {
  signatures: string[]
  /** the job can run here within the deal's submit window (module, spec hash, image, timeout) */
  runnable: boolean | null
  /** the creator's free deposit covers this deal beside our other open deals with it */
  funded: boolean | null
}

/** A deal that reached an outcome, with its id and (read at every deal's end) its mediate deadline. */
export interface EndedDeal extends DealRecord {
  dealId: string
  mediateDeadline: number
}

export interface ResourceProviderContext {
  domain: DomainJson
  self: string
  offerTtlMs: number
  commitMarginMs: number
  slots: SlotState[]
  /** the proposals held for a deal, in the order they came: few, and read whole (a record keyed by their ids made each a new key of a dictionary) */
  proposals: ProposalState[]
  /** the deals under way (Agreed, ResultsSubmitted, Mediating): at most one per slot */
  deals: Record<string, DealRecord>
  /**
   * The deals that reached an outcome, until their mediate deadline, in the order of those
   * deadlines. Kept apart from those under way, which change at every step, and as a list in that
   * order: a busy provider ends a dozen deals in a mediate window, and reading each of them at every
   * end (as a record keyed by their ids needed, to copy them and to find the lapsed ones) cost more
   * than all else a deal's end does. The lapsed ones are a prefix, and a deal that ends now mostly
   * has the latest deadline.
   */
  endedDeals: EndedDeal[]
  /**
   * Deals the job creator signed that came before the solver's proposal they follow (the solver
   * sends both parties the proposal at once, and the creator's signature can overtake it): held
   * until their proposal comes or their agree deadline passes, a few at most.
   */
  earlyDeals: EarlyDeal[]
  deadlines: Deadlines
}

interface EarlyDeal {
  matchProposalId: string
  envelope: Envelope<'Deal'>
  agreeDeadline: number
}

/** How many deals that overtook their proposals are held at once (the oldest goes first). */
const EARLY_DEALS = 8

type C = ResourceProviderContext
type D = Decision<C>

/**
 * The resource provider's decider, which checks messages with `messages`: a node's own
 * (`nodeMessages`), or one a simulation made for all its parties.
 */
export function createResourceProviderDecider (messages: Messages): Decider<ResourceProviderContext, ResourceProviderInput> {
  function offerFor (c: Pick<C, 'domain' | 'self' | 'offerTtlMs'>, slot: number, terms: SlotTerms, at: number): { offer: ResourceOffer, offerId: string } {
    const own = ownMessage(messages, c.domain, 'ResourceOffer', extended(terms, { author: c.self, nonce: String(at), expiry: at + c.offerTtlMs, slot }))
    return { offer: own.message, offerId: own.id }
  }

  function init (input: ResourceProviderInput): C {
    const base = { domain: input.domain, self: input.self, offerTtlMs: input.offerTtlMs ?? 10 * 60_000, commitMarginMs: input.commitMarginMs ?? 60_000 }
    const deadlines = emptyRecord<number>()
    const slots = input.slots.map((terms, slot) => {
      const { offer, offerId } = offerFor(base, slot, terms, input.at)
      deadlines[timerName('offer', slot)] = offer.expiry
      return { terms, offer, offerId, dealId: null }
    })
    return extended(base, { slots, proposals: [], deals: emptyRecord<DealRecord>(), endedDeals: [], earlyDeals: [], deadlines })
  }

  function initialOutputs (c: C): MachineOutput[] {
    return c.slots.map(s => publishOutput(`offer:${s.offerId}`, 'ResourceOffer', s.offer, RESOURCE_OFFERS_TOPIC))
  }

  /**
   * Ends a deal: moves it, in its final state, to the ended deals, drops its timers, frees and
   * re-offers its slot. Deals that ended before are forgotten once their mediate deadline, the last of
   * a deal's deadlines, has passed: nothing about them can come any more (but the chain's word on one,
   * refused then as WRONG_DEAL), and a node that runs for months keeps a context the size of its
   * recent deals. Its log keeps them all.
   */
  function finish (c: C, dealId: string, state: DealState, at: number, outputs: MachineOutput[] = []): D {
    const record = c.deals[dealId] as DealRecord
    const slots = [...c.slots]
    const slot = slots[record.slot] as SlotState
    const { offer, offerId } = offerFor(c, record.slot, slot.terms, at)
    slots[record.slot] = { ...slot, offer, offerId, dealId: null }
    const suffix = `:${record.slot}`
    const deadlines = withoutEntries(c.deadlines, k => k.endsWith(suffix))
    deadlines[timerName('offer', record.slot)] = offer.expiry
    const { signing: _signing, jobOffer: _job, ...kept } = record
    const endedDeals = withEnded(c.endedDeals, extended(kept, { state, dealId, mediateDeadline: record.deal.mediateDeadline }), at)
    return {
      context: { ...c, slots, deals: withoutEntries(c.deals, id => id === dealId), endedDeals, deadlines },
      outputs: [...outputs, publishOutput(`offer:${offerId}`, 'ResourceOffer', offer, RESOURCE_OFFERS_TOPIC)]
    }
  }

  const LIVE: DealState[] = ['Agreed', 'ResultsSubmitted', 'Mediating']

  function effectDeal (e: InputEvent, prefix: string): string {
    return typeof e.effect === 'string' && e.effect.startsWith(prefix) ? e.effect.slice(prefix.length) : ''
  }

  /** The ended deals with `ended` in its place, less those whose mediate deadline is before `at`. */
  function withEnded (endedDeals: readonly EndedDeal[], ended: EndedDeal, at: number): EndedDeal[] {
    let lapsed = 0
    while (lapsed < endedDeals.length && (endedDeals[lapsed] as EndedDeal).mediateDeadline < at) lapsed++
    const out = endedDeals.slice(lapsed)
    let i = out.length
    while (i > 0 && (out[i - 1] as EndedDeal).mediateDeadline > ended.mediateDeadline) i--
    out.splice(i, 0, ended)
    return out
  }

  function endedDeal (c: C, dealId: string): EndedDeal | undefined {
    return c.endedDeals.find(r => r.dealId === dealId)
  }

  /**
   * The key of a deal under way in the record of live deals: its slot's own copy of the id. The id
   * a message carries is another string of the same text, and looking a key up by it means finding
   * that text in V8's table of every key, where the slot's copy is that key already.
   */
  function liveKey (c: C, dealId: string): string | undefined {
    const slot = c.slots.find(s => s.dealId === dealId)
    return slot?.dealId ?? undefined
  }

  type TimerKind = 'offer' | 'agree' | 'submit' | 'judge' | 'commit' | 'mediate'
  const TIMER_NAMES: Record<TimerKind, string[]> = { offer: [], agree: [], submit: [], judge: [], commit: [], mediate: [] }

  /** A slot's deadline of a kind: the same name each time, a key V8 has already seen (a name written anew is looked up in its table of keys). */
  function timerName (kind: TimerKind, slot: number): string {
    const names = TIMER_NAMES[kind]
    return names[slot] ??= `${kind}:${slot}`
  }

  /** A deal under way or ended, by id. */
  function dealById (c: C, dealId: string): DealRecord | undefined {
    const live = liveKey(c, dealId)
    return live !== undefined ? c.deals[live] : endedDeal(c, dealId)
  }

  function dealIn (c: C, dealId: unknown, ...states: DealState[]): DealRecord {
    const record = typeof dealId === 'string' ? dealById(c, dealId) : undefined
    if (record === undefined) return violation('WRONG_DEAL', `no deal ${String(dealId)} here`)
    if (!states.includes(record.state)) violation('WRONG_STATE', `deal ${String(dealId)} is ${record.state}`)
    return record
  }

  /** An ended deal's record with its state changed: the chain or a verdict had the last word on it. */
  function withEndedState (c: C, dealId: string, state: DealState): EndedDeal[] {
    return c.endedDeals.map(r => r.dealId === dealId ? { ...r, state } : r)
  }

  /**
   * A challenge of our results, signed by the job creator, seen on the wire or on chain. Every mediator
   * of the deal gets the challenge (with the deal, our results and the job offer) and our results from
   * us, whether or not the creator told them, and the one the chain draws judges: a creator that
   * challenges and stays silent must not be refunded by the mediator's silence. A challenge seen only on the wire is also posted on chain by
   * us, and the duties to commit our results and to claim the judge deadline stay until the chain
   * shows a commitment or a challenge (the effects treat either as done): a creator that never posts
   * its challenge cannot claim TimeoutSubmit against results we were told to mediate.
   */
  function challenged (c: C, dealId: string, record: DealRecord, challenge: Verified<'ResultsChallenged'>, onWire: boolean): D {
    expectChallengeOf(record.deal, dealId, challenge, record.resultsCid)
    const mediators = record.deal.mediators
    const jobOfferId = record.deal.jobOfferId
    const outputs: MachineOutput[] = [
      { type: 'results.provide', id: `provide:${dealId}`, dealId, resultsCid: record.resultsCid ?? '', to: mediators },
      { type: 'message.forward', id: `forward:${dealId}`, message: challenge.id, to: mediators, attach: [dealId, `results:${dealId}`, jobOfferId] }
    ]
    if (onWire) outputs.push({ type: 'chain.challenge', id: `chain-challenge:${dealId}`, dealId, evidence: [dealId, challenge.id, `results:${dealId}`] })
    const live = liveKey(c, dealId)
    if (live === undefined) return { context: { ...c, endedDeals: withEndedState(c, dealId, 'Mediating') }, outputs }
    const judge = timerName('judge', record.slot)
    const commit = timerName('commit', record.slot)
    const deadlines = onWire ? { ...c.deadlines } : withoutEntries(c.deadlines, k => k === judge || k === commit)
    deadlines[timerName('mediate', record.slot)] = record.deal.mediateDeadline
    return { context: { ...c, deals: withEntry(c.deals, live, { ...record, state: 'Mediating' }), deadlines }, outputs }
  }

  /**
   * What our open deals with a creator lock of its deposit, beside the one being signed: those being
   * signed too (two checks at once must not both count the same free deposit).
   */
  function lockedWith (c: C, jobCreator: string, except: string): bigint {
    let locked = 0n
    for (const [id, r] of Object.entries(c.deals)) {
      if (id !== except && sameAddress(r.deal.jobCreator, jobCreator)) locked += creatorLock(r.deal)
    }
    return locked
  }

  /** A check before co-signing came back: co-sign once both passed, walk away as soon as one failed. */
  function checked (c: C, dealId: string, patch: Partial<SigningChecks>, at: number, reason?: string): D {
    const live = liveKey(c, dealId)
    const record = live === undefined ? undefined : c.deals[live]
    if (record?.state !== 'Matched' || record.signing === undefined) return violation('WRONG_STATE', `deal ${dealId} is not being signed`)
    const signing = { ...record.signing, ...patch }
    if (signing.runnable === false || signing.funded === false) return declined(c, dealId, reason ?? 'a check failed', at)
    if (signing.runnable !== true || signing.funded !== true) {
      return { context: { ...c, deals: withEntry(c.deals, live as string, { ...record, signing }) }, outputs: [] }
    }
    if (at > record.deal.agreeDeadline) return declined(c, dealId, 'the checks ended after the agree deadline', at)
    const deal = record.deal
    const deadlines = withoutEntries(c.deadlines, k => k === timerName('agree', record.slot))
    deadlines[timerName('submit', record.slot)] = deal.submitDeadline
    const job = expectMessage(messages, c.domain, record.jobOffer, 'JobOffer', at, { ignoreExpiry: true })
    // the job offer goes with the run; a deal under way or ended keeps only what it is judged by
    const { signing: _done, jobOffer: _run, ...agreed } = record
    return {
      context: { ...c, deals: withEntry(c.deals, live as string, { ...agreed, state: 'Agreed' }), deadlines },
      outputs: [
        sendOutput(`cosign:${dealId}`, 'Deal', deal, [deal.jobCreator], { signatures: signing.signatures, topic: DEALS_TOPIC }),
        { type: 'job.run', id: `run:${dealId}`, dealId, purpose: 'execute', job: job.message as never }
      ]
    }
  }

  /** A deal we never co-signed: nothing binds us; the slot is offered again. */
  function declined (c: C, dealId: string, reason: string, at: number): D {
    const ended = finish(c, dealId, 'TimeoutAgree', at)
    return { ...ended, outputs: [{ type: 'deal.declined', id: `declined:${dealId}`, dealId, reason }, ...ended.outputs] }
  }

  /**
   * A deal the job creator signed for one of our proposals: its terms checked, the slot held and the
   * checks before co-signing started. One that came before its proposal is held for it.
   */
  function onDeal (c: C, envelope: unknown, at: number): D {
    const signed = expectMessage(messages, c.domain, envelope, 'Deal', at, { partial: true })
    if (!sameAddress(signed.message.resourceProvider, c.self)) violation('WRONG_PARTY', 'not our deal')
    const matchProposalId = signed.message.matchProposalId
    const pending = c.proposals.find(p => p.id === matchProposalId)
    // a deal signed before left no proposal of its own behind (its slot's proposals went with it,
    // and the offer they named was renewed since): only then is it looked for among the deals
    if (pending === undefined && (c.deals[signed.id] !== undefined || endedDeal(c, signed.id) !== undefined)) violation('DUPLICATE', 'deal already signed')
    if (signed.envelope.signatures.length !== 1) violation('INCONSISTENT', 'expected a deal signed by the job creator only')
    if (pending === undefined) return heldForProposal(c, signed.envelope, at)
    const slot = c.slots[pending.slot] as SlotState
    if (slot.dealId !== null) violation('NO_CAPACITY', `slot ${pending.slot} is taken`)
    const proposal = expectMessage(messages, c.domain, pending.proposal, 'MatchProposal', at, { ignoreExpiry: true })
    const job = expectMessage(messages, c.domain, pending.jobOffer, 'JobOffer', at, { ignoreExpiry: true })
    if (proposal.message.resourceOfferId !== slot.offerId) violation('WRONG_DEAL', 'the offer was renewed since')
    expectDealOf(job, ownVerified('ResourceOffer', slot.offerId, slot.offer), proposal, signed.message, messages)
    const deal = signed.message
    expectBoundedLifetime(deal, at)
    const dealId = dealIdOf(c.domain, deal, messages)
    const slots = [...c.slots]
    slots[pending.slot] = { ...slot, dealId }
    const signing: SigningChecks = { signatures: signed.envelope.signatures, runnable: null, funded: null }
    return {
      context: {
        ...c,
        slots,
        proposals: c.proposals.filter(p => p.slot !== pending.slot),
        deals: withEntry(c.deals, dealId, { slot: pending.slot, deal, state: 'Matched', jobOffer: pending.jobOffer, resultsCid: null, signing }),
        deadlines: withEntry(c.deadlines, timerName('agree', pending.slot), deal.agreeDeadline)
      },
      outputs: [
        { type: 'job.prepare', id: `prepare:${dealId}`, dealId, job: job.message as never, maxDurationMs: deal.submitDeadline - at },
        { type: 'chain.readDeposit', id: `funds:${dealId}`, dealId, account: deal.jobCreator }
      ]
    }
  }

  /** Holds a deal whose proposal has not come (yet): until its agree deadline, a few at most. */
  function heldForProposal (c: C, envelope: Envelope<'Deal'>, at: number): D {
    const deal = envelope.message
    if (c.earlyDeals.some(d => d.matchProposalId === deal.matchProposalId)) violation('DUPLICATE', 'a deal for this proposal is held already')
    if (deal.agreeDeadline < at) violation('WRONG_DEAL', 'the deal follows no proposal we hold')
    const live = c.earlyDeals.filter(d => d.agreeDeadline >= at)
    live.push({ matchProposalId: deal.matchProposalId, envelope, agreeDeadline: deal.agreeDeadline })
    return { context: { ...c, earlyDeals: live.slice(-EARLY_DEALS) }, outputs: [] }
  }

  function onMessage (c: C, e: InputEvent): D {
    const type = (e.envelope as { type?: string } | undefined)?.type
    switch (type) {
      case 'MatchProposal': {
        const proposal = expectMessage(messages, c.domain, e.envelope, 'MatchProposal', e.at)
        const slot = c.slots.findIndex(s => s.offerId === proposal.message.resourceOfferId)
        if (slot < 0) violation('WRONG_DEAL', 'the proposal names no current offer of ours')
        const own = c.slots[slot] as SlotState
        if (own.dealId !== null) violation('NO_CAPACITY', `slot ${slot} is taken`)
        if (c.proposals.some(p => p.id === proposal.id)) violation('DUPLICATE', 'proposal already received')
        const job = expectAttachment(messages, c.domain, e as never, 'JobOffer')
        checkProposal(job, ownVerified('ResourceOffer', own.offerId, own.offer), proposal)
        const live = c.proposals.filter(p => p.expiry >= e.at)
        // the first proposal for a free slot starts its job ahead of the deal (the run goes to the
        // deal if one comes for that job, and is dropped at the proposal's expiry if none does)
        const warm: MachineOutput[] = live.some(p => p.slot === slot)
          ? []
          : [{ type: 'job.warm', id: `warm:${proposal.id}`, job: job.message as never, until: proposal.message.expiry }]
        live.push({ id: proposal.id, slot, proposal: e.envelope, jobOffer: job.envelope as never, expiry: proposal.message.expiry })
        const held = { ...c, proposals: live }
        // a deal that overtook this proposal is taken now, as if it had come right after it
        const early = c.earlyDeals.find(d => d.matchProposalId === proposal.id)
        if (early === undefined) return { context: held, outputs: warm }
        const rest = { ...held, earlyDeals: c.earlyDeals.filter(d => d !== early) }
        try {
          return onDeal(rest, early.envelope, e.at)
        } catch (err) {
          // the held deal does not stand with its proposal: the proposal is kept, the deal dropped
          if (err instanceof ProtocolViolation) return { context: rest, outputs: [] }
          throw err
        }
      }
      case 'Deal':
        return onDeal(c, e.envelope, e.at)
      case 'ResultsAccepted': {
        const accepted = expectMessage(messages, c.domain, e.envelope, 'ResultsAccepted', e.at)
        const record = dealIn(c, accepted.message.dealId, 'ResultsSubmitted')
        const dealId = accepted.message.dealId
        expectAcceptanceOf(record.deal, dealId, accepted, record.resultsCid)
        return finish(c, dealId, 'Accepted', e.at, [{ type: 'chain.settle', id: `settle:${dealId}`, dealId, outcome: 'Accepted', evidence: [dealId, accepted.id] }])
      }
      case 'ResultsChallenged': {
        const challenge = expectMessage(messages, c.domain, e.envelope, 'ResultsChallenged', e.at)
        const dealId = challenge.message.dealId
        const record = dealIn(c, dealId, 'ResultsSubmitted')
        expectBy(e.at, record.deal.judgeDeadline, 'a challenge')
        return challenged(c, dealId, record, challenge, true)
      }
      case 'MediationVerdict': {
        const v = expectMessage(messages, c.domain, e.envelope, 'MediationVerdict', e.at)
        const dealId = v.message.dealId
        // a verdict may overtake the challenge it answers (the creator tells the mediators and us at
        // once): it is put on chain all the same, and settles the deal there only if it was challenged
        const record = dealIn(c, dealId, 'Mediating', 'ResultsSubmitted')
        expectVerdictOf(record.deal, dealId, v, record.resultsCid)
        const verdictsFrom = withVerdictFrom(record.verdictsFrom, v)
        const live = liveKey(c, dealId)
        const context = live !== undefined
          ? { ...c, deals: withEntry(c.deals, live, { ...record, verdictsFrom }) }
          : { ...c, endedDeals: c.endedDeals.map(r => r.dealId === dealId ? { ...r, verdictsFrom } : r) }
        // the deal ends with the outcome the chain holds once the verdict is on it (chain.settled)
        return { context, outputs: [settleVerdict(dealId, v)] }
      }
      default:
        return violation('WRONG_STATE', `a resource provider does not take ${String(type)} messages`)
    }
  }

  function onTimer (c: C, e: InputEvent): D {
    const timer = expectTimer(c.deadlines, e)
    const [kind, key] = timer.split(':') as [string, string]
    if (kind === 'offer') {
      const slot = Number(key)
      const state = c.slots[slot] as SlotState
      const deadlines = withoutEntries(c.deadlines, k => k === timer)
      if (state.dealId !== null) return { context: { ...c, deadlines }, outputs: [] }
      const { offer, offerId } = offerFor(c, slot, state.terms, e.at)
      const slots = [...c.slots]
      slots[slot] = { ...state, offer, offerId }
      deadlines[timer] = offer.expiry
      return { context: { ...c, slots, deadlines }, outputs: [publishOutput(`offer:${offerId}`, 'ResourceOffer', offer, RESOURCE_OFFERS_TOPIC)] }
    }
    // a deal's deadlines are named after its slot, which holds one deal at a time (names made of deal
    // ids were a new key of a dictionary each)
    const dealId = c.slots[Number(key)]?.dealId
    const record = dealIn(c, dealId, 'Matched', 'Agreed', 'ResultsSubmitted', 'Mediating')
    const id = dealId as string
    switch (kind) {
      case 'agree': return declined(c, id, 'the checks did not end before the agree deadline', e.at)
      case 'submit': return finish(c, id, 'TimeoutSubmit', e.at)
      case 'commit':
        return {
          context: { ...c, deadlines: withoutEntries(c.deadlines, k => k === timer) },
          outputs: [{ type: 'chain.commitResults', id: `commit:${id}`, dealId: id, resultsCid: record.resultsCid ?? '' }]
        }
      case 'judge': {
        // a challenge seen only on the wire may never have reached the chain: the claim says which (its
        // own id: the deal stays in mediation, and a TimeoutMediate claim may follow)
        if (record.state === 'Mediating') {
          const claim: MachineOutput = { type: 'chain.claim', id: `claim-judge:${id}`, dealId: id, claim: 'TimeoutJudge', evidence: [id] }
          return { context: { ...c, deadlines: withoutEntries(c.deadlines, k => k === timer) }, outputs: [claim] }
        }
        return finish(c, id, 'TimeoutJudge', e.at, [{ type: 'chain.claim', id: `claim:${id}`, dealId: id, claim: 'TimeoutJudge', evidence: [id] }])
      }
      case 'mediate': return finish(c, id, 'TimeoutMediate', e.at, [{ type: 'chain.claim', id: `claim:${id}`, dealId: id, claim: 'TimeoutMediate', evidence: [id] }])
      default: return violation('EARLY_TIMER', `unknown timer ${timer}`)
    }
  }

  /**
   * The mediators the node trusts changed (announced ones came or went): every slot's terms name
   * them from now on. A free slot is offered again at once, a busy one once its deal ends; the deals
   * under way keep the mediators they were signed with. The same list again changes nothing.
   */
  function onTrustedMediators (c: C, e: InputEvent): D {
    const mediators = e.mediators
    if (!Array.isArray(mediators) || mediators.length === 0 || mediators.length > LIMITS.trusted || !mediators.every(m => typeof m === 'string' && ADDRESS.test(m))) {
      return violation('INCONSISTENT', `trusted mediators must be 1 to ${LIMITS.trusted} addresses`)
    }
    const list = mediators as string[]
    if (c.slots.every(s => sameList(s.terms.trustedMediators, list))) return { context: c, outputs: [] }
    const slots = [...c.slots]
    const deadlines = { ...c.deadlines }
    const outputs: MachineOutput[] = []
    for (const [i, slot] of c.slots.entries()) {
      const terms = { ...slot.terms, trustedMediators: list }
      if (slot.dealId !== null) {
        slots[i] = { ...slot, terms }
        continue
      }
      const { offer, offerId } = offerFor(c, i, terms, e.at)
      slots[i] = { ...slot, terms, offer, offerId }
      deadlines[timerName('offer', i)] = offer.expiry
      outputs.push(publishOutput(`offer:${offerId}`, 'ResourceOffer', offer, RESOURCE_OFFERS_TOPIC))
    }
    return { context: { ...c, slots, deadlines }, outputs }
  }

  function decide (c: C, e: InputEvent): D {
    switch (e.type) {
      case 'message.received': return onMessage(c, e)
      case 'mediators.trusted': return onTrustedMediators(c, e)
      case 'timer.fired': return onTimer(c, e)
      case 'job.finished': {
        const dealId = typeof e.effect === 'string' && e.effect.startsWith('run:') ? e.effect.slice(4) : ''
        const record = dealIn(c, dealId, 'Agreed')
        expectBy(e.at, record.deal.submitDeadline, 'a run that finished')
        if (typeof e.resultsCid !== 'string' || e.resultsCid === '') violation('INCONSISTENT', 'a finished run needs its results CID')
        const message = {
          author: c.self,
          nonce: String(e.at),
          expiry: record.deal.mediateDeadline,
          dealId,
          resultsCid: e.resultsCid,
          exitCode: typeof e.exitCode === 'number' ? e.exitCode : 0,
          cpuMs: typeof e.cpuMs === 'number' ? e.cpuMs : 0,
          durationMs: typeof e.durationMs === 'number' ? e.durationMs : 0
        }
        const results = ownMessage(messages, c.domain, 'ResultsSubmitted', message)
        const deadlines = withoutEntries(c.deadlines, k => k === timerName('submit', record.slot))
        deadlines[timerName('judge', record.slot)] = record.deal.judgeDeadline
        deadlines[timerName('commit', record.slot)] = commitAt(record.deal, e.at, c.commitMarginMs)
        return {
          context: { ...c, deals: withEntry(c.deals, liveKey(c, dealId) as string, { ...record, state: 'ResultsSubmitted', resultsCid: e.resultsCid }), deadlines },
          outputs: [sendOutput(`results:${dealId}`, 'ResultsSubmitted', results.message, [record.deal.jobCreator])]
        }
      }
      case 'job.prepared': {
        const dealId = effectDeal(e, 'prepare:')
        return checked(c, dealId, { runnable: e.ok === true }, e.at, `the job cannot run here: ${String(e.reason ?? e.failure ?? 'unknown')}`)
      }
      case 'chain.deposit': {
        const dealId = effectDeal(e, 'funds:')
        const record = dealIn(c, dealId, 'Matched')
        const deposit = depositOf(e)
        const elsewhere = lockedWith(c, record.deal.jobCreator, dealId)
        const funded = depositCovers(deposit, creatorLock(record.deal), elsewhere)
        return checked(c, dealId, { funded }, e.at,
          `the job creator's deposit ${deposit.balance} (${deposit.withdrawing} leaving, ${elsewhere} in our other deals, ${deposit.lockedWithOthers} in its deals with others) does not cover the ${creatorLock(record.deal)} this deal locks`)
      }
      case 'effect.failed': {
        // a verdict the chain refused (not its judge's, or too late): the judge's own, or the mediate deadline, decides
        if (typeof e.effect === 'string' && e.effect.startsWith(SETTLE_VERDICT)) return { context: c, outputs: [] }
        // a check before co-signing that could not be made counts as failed: nothing is signed blind
        const dealId = effectDeal(e, 'prepare:') || effectDeal(e, 'funds:')
        const which = String(e.effect).startsWith('prepare:') ? { runnable: false } : { funded: false }
        return checked(c, dealId, which, e.at, `a check before co-signing failed: ${String(e.error)}`)
      }
      case 'chain.challenged': {
        // a challenge the creator posted on chain, read from there by a claim it overtook
        const challenge = expectMessage(messages, c.domain, e.envelope, 'ResultsChallenged', e.at, { ignoreExpiry: true })
        const dealId = challenge.message.dealId
        const record = dealIn(c, dealId, 'ResultsSubmitted', 'Mediating', 'TimeoutJudge')
        if (record.state === 'Mediating') return { context: c, outputs: [] }
        return challenged(c, dealId, record, challenge, false)
      }
      case 'chain.settled': {
        // the chain's outcome is the deal's, whoever settled it: a claim of ours may have been overtaken
        const record = dealIn(c, e.dealId, ...LIVE, ...DEAL_OUTCOMES)
        if (!isDealOutcome(e.outcome)) violation('INCONSISTENT', `not a deal outcome: ${String(e.outcome)}`)
        const dealId = e.dealId as string
        if (LIVE.includes(record.state) && liveKey(c, dealId) !== undefined) return finish(c, dealId, e.outcome, e.at)
        const endedDeals = c.endedDeals.map(r => r.dealId === dealId ? { ...r, state: e.outcome as DealState } : r)
        return { context: { ...c, endedDeals }, outputs: [] }
      }
      default:
        return violation('UNKNOWN_EVENT', `a resource provider does not take ${e.type}`)
    }
  }

  return { init, initialOutputs, decide }
}

export const resourceProviderDecider = createResourceProviderDecider(nodeMessages)
export const resourceProviderMachine = deciderMachine('resource-provider', resourceProviderDecider)
