/**
 * The solver, one machine per node: an order book of live offers. Jobs and offers arriving close
 * together are matched in one round (the `matchRound` deadline, `batchDelayMs` after the first of
 * them; an offer arms it only while a job waits; with no delay, the step that brought them matches
 * them): expired offers are dropped, then each waiting
 * job, oldest first, gets the cheapest-then-oldest matching free offer. An offer with a proposal out is not proposed again until that proposal
 * expires or the deal is agreed.
 */
import type { Envelope } from '../protocols/messages/envelope.ts'
import { DEFAULT_BOOK_LIMITS, type BookLimits } from './book-limits.ts'
import type { JobOffer, ResourceOffer } from '../protocols/messages/schemas.ts'
import type { Deadlines, InputEvent, MachineOutput } from './contract.ts'
import { expectMessage, expectTimer, extended, includesAddress, sendOutput, type DomainJson } from './common.ts'
import { jobForMatching, offerForMatching } from './deal-terms.ts'
import { deciderMachine, type Decider, type Decision } from './decider.ts'
import { nodeMessages, type Messages } from '../protocols/messages/signing.ts'
import { compareOffers, matchBook, OfferTraitsMemo, type MatchableJob, type MatchableOffer } from './matcher.ts'
import { violation } from './rejection.ts'

export { DEFAULT_BOOK_LIMITS, type BookLimits } from './book-limits.ts'

export interface SolverInput {
  domain: DomainJson
  self: string
  /** asked of each job (capped by the job's maxSolverFee), wei as a decimal string */
  solverFee: string
  /** the mediation fee written into deals, wei as a decimal string */
  mediatorFee: string
  /** how long a round waits for more jobs and offers after the first (default 50); 0 matches each as it comes */
  batchDelayMs?: number
  /** how much of anyone's offers the book takes (defaults: DEFAULT_BOOK_LIMITS) */
  book?: Partial<BookLimits>
  at: number
}

interface Entry {
  envelope: Envelope
  receivedAt: number
  /** an outstanding proposal holds this entry until then */
  heldUntil: number
  /** the entry is dropped after this: an offer's expiry; a job's expiry or match deadline, whichever is first */
  until: number
}

/**
 * An offer's id, author and slot are copied out of its envelope: offer, deal and round events
 * compare them with the whole book. So are the first 32 bits of the id and of the author, which the
 * entry holds inline: comparing them first spares reading the strings of entries that differ.
 */
interface OfferEntry extends Entry {
  id: string
  idTag: number
  author: string
  authorTag: number
  slot: number
}

/** The first 32 bits of a 0x-prefixed hex id or address. */
function tagOf (hex: string): number {
  return parseInt(hex.slice(2, 10), 16)
}

interface JobEntry extends Entry {
  id: string
}

export interface SolverContext {
  domain: DomainJson
  self: string
  solverFee: string
  mediatorFee: string
  batchDelayMs: number
  book: BookLimits
  /** in book order (cheapest, then oldest, then smallest id): a list, because every offer event changes it and a list copies cheaply; a round reads it only up to its matches */
  offers: OfferEntry[]
  /** in arrival order; a list for the same reasons (a record keyed by ids would be walked as a dictionary) */
  jobs: JobEntry[]
  deadlines: Deadlines
}

type C = SolverContext
type D = Decision<C>

/**
 * The solver's decider, which checks messages with `messages`: a node's own
 * (`nodeMessages`), or one a simulation made for all its parties.
 */
export function createSolverDecider (messages: Messages): Decider<SolverContext, SolverInput> {
  function init (input: SolverInput): C {
    return {
      domain: input.domain,
      self: input.self,
      solverFee: input.solverFee,
      mediatorFee: input.mediatorFee,
      batchDelayMs: input.batchDelayMs ?? 50,
      book: { ...DEFAULT_BOOK_LIMITS, ...input.book },
      offers: [],
      jobs: [],
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

  /**
   * A book with a new job, or a new offer while a job waits: matched in the round armed for it, or
   * with no batch delay at once, without a timer and a second step on the way of every job.
   */
  function matchSoon (c: C, at: number): D {
    return c.batchDelayMs <= 0 ? round(c, at) : { context: { ...c, deadlines: armRound(c, at) }, outputs: [] }
  }

  /** Whether a job in the book is free to match at `at`: held by no proposal, not past its time. */
  function waiting (j: JobEntry, at: number): boolean {
    return j.heldUntil < at && j.until >= at
  }

  function anyWaiting (jobs: readonly JobEntry[], at: number): boolean {
    return jobs.some(j => waiting(j, at))
  }

  function offerIndex (offers: readonly OfferEntry[], id: string): number {
    const tag = tagOf(id)
    return offers.findIndex(o => o.idTag === tag && o.id === id)
  }

  /** The book with the proposed offers held until `until`. */
  function held (offers: readonly OfferEntry[], proposed: ReadonlyMap<string, number>): OfferEntry[] {
    const out = [...offers]
    for (const [id, until] of proposed) {
      const i = offerIndex(out, id)
      if (i >= 0) out[i] = heldCopy(out[i] as OfferEntry, until)
    }
    return out
  }

  /** An entry held until `until`, with the matching terms the entry derived (the same offer, received at the same time). */
  function heldCopy (entry: OfferEntry, until: number): OfferEntry {
    const copy = { ...entry, heldUntil: until }
    const terms = bookOffers.get(entry)
    if (terms !== undefined) bookOffers.set(copy, terms)
    return copy
  }

  function jobIndex (jobs: readonly JobEntry[], id: string): number {
    return jobs.findIndex(j => j.id === id)
  }

  function onMessage (c: C, e: InputEvent): D {
    const type = (e.envelope as { type?: string } | undefined)?.type
    switch (type) {
      case 'ResourceOffer': {
        const offer = expectMessage(messages, c.domain, e.envelope, 'ResourceOffer', e.at)
        const { author, slot, expiry } = offer.message
        const authorTag = tagOf(author)
        // one pass that copies nothing: a newer offer for the same slot replaces the older one (the book
        // holds one a slot), and the same offer again is refused (it has the same slot: its id is only
        // compared there)
        let replaced = -1
        let byAuthor = 0
        const book = c.offers
        for (let i = 0; i < book.length; i++) {
          const o = book[i] as OfferEntry
          if (o.authorTag !== authorTag || o.author !== author) continue
          if (o.slot !== slot) byAuthor++
          else if (o.id === offer.id) violation('DUPLICATE', 'offer already in the book')
          else replaced = i
        }
        if (!includesAddress(offer.message.trustedSolvers, c.self)) return unchanged(c)
        if (byAuthor >= c.book.maxPerAuthor) violation('NO_CAPACITY', `the book holds ${byAuthor} offers of ${author}, its most for one author`)
        let offers = replaced < 0 ? book : book.toSpliced(replaced, 1)
        if (offers.length >= c.book.maxOffers) offers = offers.filter(o => o.until >= e.at)
        if (offers.length >= c.book.maxOffers) violation('NO_CAPACITY', `the book holds ${offers.length} live offers, its most`)
        const entry: OfferEntry = { id: offer.id, idTag: tagOf(offer.id), author, authorTag, slot, envelope: offer.envelope, receivedAt: e.at, heldUntil: 0, until: expiry }
        const position = bookPosition(offers, entry)
        // the book in the context before is left as it was: a copy takes the entry
        if (offers === book) offers = book.toSpliced(position, 0, entry)
        else offers.splice(position, 0, entry)
        // with no job waiting there is nothing to match it with: the next job, or the round armed for held ones, matches it
        return anyWaiting(c.jobs, e.at) ? matchSoon({ ...c, offers }, e.at) : { context: { ...c, offers }, outputs: [] }
      }
      case 'JobOffer': {
        const job = expectMessage(messages, c.domain, e.envelope, 'JobOffer', e.at)
        if (jobIndex(c.jobs, job.id) >= 0) violation('DUPLICATE', 'job already in the book')
        if (e.at > job.message.matchDeadline) violation('LATE', 'the job\'s match deadline has passed')
        if (!includesAddress(job.message.trustedSolvers, c.self)) return unchanged(c)
        const author = job.message.author
        let jobs = c.jobs
        if (jobs.filter(j => (j.envelope.message as { author: string }).author === author).length >= c.book.maxPerAuthor) {
          violation('NO_CAPACITY', `the book holds ${c.book.maxPerAuthor} jobs of ${author}, its most for one author`)
        }
        if (jobs.length >= c.book.maxJobs) jobs = jobs.filter(j => j.until >= e.at)
        if (jobs.length >= c.book.maxJobs) violation('NO_CAPACITY', `the book holds ${jobs.length} waiting jobs, its most`)
        const until = Math.min(job.message.expiry, job.message.matchDeadline)
        const entry: JobEntry = { id: job.id, envelope: job.envelope, receivedAt: e.at, heldUntil: 0, until }
        return matchSoon({ ...c, jobs: [...jobs, entry] }, e.at)
      }
      case 'Deal': {
        // an agreed deal (gossiped): its offers leave the book
        const deal = expectMessage(messages, c.domain, e.envelope, 'Deal', e.at, { ignoreExpiry: true })
        const { jobOfferId, resourceOfferId } = deal.message
        const offered = offerIndex(c.offers, resourceOfferId)
        const job = jobIndex(c.jobs, jobOfferId)
        if (job < 0 && offered < 0) return unchanged(c)
        const offers = offered < 0 ? c.offers : c.offers.toSpliced(offered, 1)
        const jobs = job < 0 ? c.jobs : c.jobs.toSpliced(job, 1)
        return { context: { ...c, jobs, offers }, outputs: [] }
      }
      default:
        return violation('WRONG_STATE', `a solver does not take ${String(type)} messages`)
    }
  }

  type BookOffer = MatchableOffer & { message: ResourceOffer }
  /** per provider, the terms for matching of its last offer met (a memo: it changes no decision, only what is derived again) */
  const lastOffers = new Map<string, BookOffer>()
  const LAST_OFFERS_LIMIT = 65_536
  /** each entry's terms for matching, and their traits: memos, which change no decision */
  const bookOffers = new WeakMap<OfferEntry, BookOffer>()
  const traits = new OfferTraitsMemo()

  /** An offer's terms for matching: derived once per entry (a free offer waits through many rounds). */
  function bookOffer (entry: OfferEntry): BookOffer {
    let offer = bookOffers.get(entry)
    if (offer === undefined) {
      const message = entry.envelope.message as ResourceOffer
      offer = extended(offerForMatching(entry.id, message, entry.receivedAt), { message })
      // a provider's next offer mostly has the terms of its last: it takes the traits derived for them
      const last = lastOffers.get(message.author)
      if (last !== undefined) traits.inherit(last, offer)
      if (lastOffers.size >= LAST_OFFERS_LIMIT) lastOffers.clear()
      lastOffers.set(message.author, offer)
      bookOffers.set(entry, offer)
    }
    return offer
  }

  /** Where an entry goes in a book kept in book order (cheapest, then oldest, then smallest id). */
  function bookPosition (offers: readonly OfferEntry[], entry: OfferEntry): number {
    const offer = bookOffer(entry)
    let low = 0
    let high = offers.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (compareOffers(bookOffer(offers[mid] as OfferEntry), offer) < 0) low = mid + 1
      else high = mid
    }
    return low
  }

  function round (c: C, at: number): D {
    const jobs = c.jobs.every(j => j.until >= at) ? c.jobs : c.jobs.filter(j => j.until >= at)
    /** when the first held entry comes back */
    let next = Infinity
    const free: Array<MatchableJob & { message: JobOffer }> = []
    for (const j of jobs) {
      if (waiting(j, at)) free.push(extended(jobForMatching(j.id, j.envelope.message as JobOffer, j.receivedAt), { message: j.envelope.message as JobOffer }))
      else next = Math.min(next, j.heldUntil)
    }
    // one pass over the book: expired offers leave it, held ones say when they come back
    let offers = c.offers
    for (let i = 0; i < c.offers.length; i++) {
      const o = c.offers[i] as OfferEntry
      if (o.until < at) {
        if (offers === c.offers) offers = c.offers.slice(0, i)
        continue
      }
      if (offers !== c.offers) offers.push(o)
      if (o.heldUntil >= at) next = Math.min(next, o.heldUntil)
    }
    if (free.length === 0) return roundDone(c, offers, jobs, next, [])
    const matches = matchBook(offers, free, c.self, o => o.heldUntil < at ? bookOffer(o) : undefined, traits)
    const outputs: MachineOutput[] = []
    // offer id and job id → until when the proposal holds them
    const proposed = new Map<string, number>()
    const heldJobs = new Map<string, number>()
    for (const { job, offer, mediators } of matches) {
      // a deal that asks for k verdicts needs k mediators, and pays each of them the fee
      if (mediators.length < job.message.quorum) continue
      const mediatorFee = BigInt(c.mediatorFee) * BigInt(job.message.quorum)
      const maxFee = BigInt(job.message.maxSolverFee)
      const fee = BigInt(c.solverFee) < maxFee ? BigInt(c.solverFee) : maxFee
      // a proposal whose deal could not be collateralised is not worth sending
      if (BigInt(job.message.paymentCollateral) < offer.price + fee + mediatorFee) continue
      if (BigInt(offer.message.timeoutCollateral) < mediatorFee) continue
      // the parties agree within the window the job creator asked for: the provider's checks (a module
      // fetch, an image pull) must fit in it
      const expiry = at + job.message.agreeWithin
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
        mediatorFee: mediatorFee.toString(),
        mediators
      }
      outputs.push(sendOutput(`propose:${job.id}:${offer.id}:${at}`, 'MatchProposal', proposal, [proposal.jobCreator, proposal.resourceProvider], { attach: [job.id, offer.id] }))
      proposed.set(offer.id, expiry)
      heldJobs.set(job.id, expiry)
      next = Math.min(next, expiry)
    }
    const offersAfter = proposed.size === 0 ? offers : held(offers, proposed)
    const jobsAfter = heldJobs.size === 0 ? jobs : jobs.map(j => heldJobs.has(j.id) ? { ...j, heldUntil: heldJobs.get(j.id) as number } : j)
    return roundDone(c, offersAfter, jobsAfter, next, outputs)
  }

  /** The book after a round; held entries come back at `next` (if any job is left to match). */
  function roundDone (c: C, offers: OfferEntry[], jobs: JobEntry[], next: number, outputs: MachineOutput[]): D {
    const deadlines: Deadlines = { ...c.deadlines }
    delete deadlines.matchRound
    if (next !== Infinity && jobs.length > 0) deadlines.matchRound = next + 1
    return { context: { ...c, offers, jobs, deadlines }, outputs }
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

  return { init, initialOutputs: (): MachineOutput[] => [], decide }
}

export const solverDecider = createSolverDecider(nodeMessages)
export const solverMachine = deciderMachine('solver', solverDecider)
