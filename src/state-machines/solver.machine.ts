/**
 * The solver, one machine per node: an order book of live offers. Offers arriving close together
 * are matched in one round (the `matchRound` deadline, `batchDelayMs` after the first of them):
 * expired offers are dropped, then each waiting job, oldest first, gets the cheapest-then-oldest
 * matching free offer. An offer with a proposal out is not proposed again until that proposal
 * expires or the deal is agreed.
 */
import type { Envelope } from '../protocols/messages/envelope.ts'
import type { JobOffer, ResourceOffer } from '../protocols/messages/schemas.ts'
import type { Deadlines, InputEvent, MachineOutput } from './contract.ts'
import { expectMessage, expectTimer, includesAddress, sendOutput, type DomainJson } from './common.ts'
import { jobForMatching, offerForMatching } from './deal-terms.ts'
import { deciderMachine, type Decision } from './decider.ts'
import { matchOffers, type MatchableJob, type MatchableOffer } from './matcher.ts'
import { violation } from './rejection.ts'

export interface SolverInput {
  domain: DomainJson
  self: string
  /** asked of each job (capped by the job's maxSolverFee), wei as a decimal string */
  solverFee: string
  /** the mediation fee written into deals, wei as a decimal string */
  mediatorFee: string
  proposalTtlMs?: number
  batchDelayMs?: number
  at: number
}

interface Entry {
  envelope: Envelope
  receivedAt: number
  /** an outstanding proposal holds this entry until then */
  heldUntil: number
}

interface OfferEntry extends Entry {
  id: string
}

export interface SolverContext {
  domain: DomainJson
  self: string
  solverFee: string
  mediatorFee: string
  proposalTtlMs: number
  batchDelayMs: number
  /** in order of arrival: a list, because every offer event changes it and a list copies cheaply */
  offers: OfferEntry[]
  jobs: Record<string, Entry>
  deadlines: Deadlines
}

type C = SolverContext
type D = Decision<C>

function init (input: SolverInput): C {
  return {
    domain: input.domain,
    self: input.self,
    solverFee: input.solverFee,
    mediatorFee: input.mediatorFee,
    proposalTtlMs: input.proposalTtlMs ?? 15_000,
    batchDelayMs: input.batchDelayMs ?? 50,
    offers: [],
    jobs: {},
    deadlines: {}
  }
}

const unchanged = (c: C): D => ({ context: c, outputs: [] })

/**
 * A new offer or job is matched one batch delay after it arrives. A round already armed sooner
 * stays; one armed later (for held entries whose proposals have yet to expire) must not delay it.
 */
function armRound (c: C, at: number): Deadlines {
  const soon = at + c.batchDelayMs
  const armed = c.deadlines.matchRound
  return armed !== undefined && armed <= soon ? c.deadlines : { ...c.deadlines, matchRound: soon }
}

function onMessage (c: C, e: InputEvent): D {
  const type = (e.envelope as { type?: string } | undefined)?.type
  switch (type) {
    case 'ResourceOffer': {
      const offer = expectMessage(c.domain, e.envelope, 'ResourceOffer', e.at)
      if (c.offers.some(o => o.id === offer.id)) violation('DUPLICATE', 'offer already in the book')
      if (!includesAddress(offer.message.trustedSolvers, c.self)) return unchanged(c)
      // a newer offer for the same slot replaces the older one
      const offers = c.offers.filter(o => {
        const m = o.envelope.message as ResourceOffer
        return !(m.author === offer.message.author && m.slot === offer.message.slot)
      })
      offers.push({ id: offer.id, envelope: offer.envelope, receivedAt: e.at, heldUntil: 0 })
      return { context: { ...c, offers, deadlines: armRound(c, e.at) }, outputs: [] }
    }
    case 'JobOffer': {
      const job = expectMessage(c.domain, e.envelope, 'JobOffer', e.at)
      if (c.jobs[job.id] !== undefined) violation('DUPLICATE', 'job already in the book')
      if (e.at > job.message.matchDeadline) violation('LATE', 'the job\'s match deadline has passed')
      if (!includesAddress(job.message.trustedSolvers, c.self)) return unchanged(c)
      return { context: { ...c, jobs: { ...c.jobs, [job.id]: { envelope: job.envelope, receivedAt: e.at, heldUntil: 0 } }, deadlines: armRound(c, e.at) }, outputs: [] }
    }
    case 'Deal': {
      // an agreed deal (gossiped): its offers leave the book
      const deal = expectMessage(c.domain, e.envelope, 'Deal', e.at, { ignoreExpiry: true })
      const { jobOfferId, resourceOfferId } = deal.message
      const offered = c.offers.some(o => o.id === resourceOfferId)
      if (c.jobs[jobOfferId] === undefined && !offered) return unchanged(c)
      const offers = offered ? c.offers.filter(o => o.id !== resourceOfferId) : c.offers
      return { context: { ...c, jobs: without(c.jobs, jobOfferId), offers }, outputs: [] }
    }
    default:
      return violation('WRONG_STATE', `a solver does not take ${String(type)} messages`)
  }
}

type BookOffer = MatchableOffer & { message: ResourceOffer }
const bookOffers = new WeakMap<OfferEntry, BookOffer>()

/** An offer's terms for matching: derived once per entry (a free offer waits through many rounds). */
function bookOffer (entry: OfferEntry): BookOffer {
  let offer = bookOffers.get(entry)
  if (offer === undefined) {
    const message = entry.envelope.message as ResourceOffer
    offer = { ...offerForMatching(entry.id, message, entry.receivedAt), message }
    bookOffers.set(entry, offer)
  }
  return offer
}

function round (c: C, at: number): D {
  const live = (o: OfferEntry): boolean => (o.envelope.message as ResourceOffer).expiry >= at
  const offers = c.offers.every(live) ? c.offers : c.offers.filter(live)
  const jobs = kept(c.jobs, j => {
    const m = j.envelope.message as JobOffer
    return m.expiry >= at && m.matchDeadline >= at
  })
  const waiting: Array<MatchableJob & { message: JobOffer }> = []
  for (const id in jobs) {
    const j = jobs[id] as Entry
    if (j.heldUntil < at) waiting.push({ ...jobForMatching(id, j.envelope.message as JobOffer, j.receivedAt), message: j.envelope.message as JobOffer })
  }
  if (waiting.length === 0) return roundDone(c, offers, jobs, at, [])
  const free = offers.filter(o => o.heldUntil < at).map(bookOffer)
  const outputs: MachineOutput[] = []
  const proposed = new Set<string>()
  const heldJobs = { ...jobs }
  const expiry = at + c.proposalTtlMs
  const mediatorFee = BigInt(c.mediatorFee)
  for (const { job, offer, mediators } of matchOffers(free, waiting, c.self)) {
    const maxFee = BigInt(job.message.maxSolverFee)
    const fee = BigInt(c.solverFee) < maxFee ? BigInt(c.solverFee) : maxFee
    // a proposal whose deal could not be collateralised is not worth sending
    if (BigInt(job.message.paymentCollateral) < offer.price + fee + mediatorFee) continue
    if (BigInt(offer.message.timeoutCollateral) < mediatorFee) continue
    const proposal = {
      author: c.self,
      nonce: String(at),
      expiry,
      jobOfferId: job.id,
      resourceOfferId: offer.id,
      jobCreator: job.message.author,
      resourceProvider: offer.message.author,
      price: offer.message.price,
      solverFee: fee.toString(),
      mediatorFee: c.mediatorFee,
      mediators
    }
    outputs.push(sendOutput(`propose:${job.id}:${offer.id}:${at}`, 'MatchProposal', proposal, [proposal.jobCreator, proposal.resourceProvider], { attach: [job.id, offer.id] }))
    proposed.add(offer.id)
    heldJobs[job.id] = { ...(heldJobs[job.id] as Entry), heldUntil: expiry }
  }
  const heldOffers = proposed.size === 0 ? offers : offers.map(o => proposed.has(o.id) ? { ...o, heldUntil: expiry } : o)
  return roundDone(c, heldOffers, heldJobs, at, outputs)
}

/** The book after a round; held entries come back when their proposals expire. */
function roundDone (c: C, offers: OfferEntry[], jobs: Record<string, Entry>, at: number, outputs: MachineOutput[]): D {
  const deadlines: Deadlines = { ...c.deadlines }
  delete deadlines.matchRound
  let next = Infinity
  let anyJob = false
  for (const o of offers) if (o.heldUntil >= at) next = Math.min(next, o.heldUntil)
  for (const id in jobs) {
    anyJob = true
    if ((jobs[id] as Entry).heldUntil >= at) next = Math.min(next, (jobs[id] as Entry).heldUntil)
  }
  if (next !== Infinity && anyJob) deadlines.matchRound = next + 1
  return { context: { ...c, offers, jobs, deadlines }, outputs }
}

/** The entries `keep` accepts: the same record when it accepts them all (a round mostly drops none). */
function kept (book: Record<string, Entry>, keep: (entry: Entry) => boolean): Record<string, Entry> {
  for (const id in book) {
    if (!keep(book[id] as Entry)) return Object.fromEntries(Object.entries(book).filter(([, e]) => keep(e)))
  }
  return book
}

function without (book: Record<string, Entry>, id: string): Record<string, Entry> {
  if (book[id] === undefined) return book
  const out = { ...book }
  delete out[id]
  return out
}

function decide (c: C, e: InputEvent): D {
  switch (e.type) {
    case 'message.received': return onMessage(c, e)
    case 'timer.fired':
      expectTimer(c.deadlines, e, 'matchRound')
      return round(c, e.at)
    default:
      return violation('UNKNOWN_EVENT', `a solver does not take ${e.type}`)
  }
}

export const solverDecider = { init, initialOutputs: (): MachineOutput[] => [], decide }
export const solverMachine = deciderMachine('solver', solverDecider)
