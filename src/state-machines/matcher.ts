/**
 * Matching job offers to resource offers (pure).
 *
 * A pair matches when the offer has at least the job's cpu, gpu count, VRAM, ram and disk, allows
 * the job's module (an empty allow-list allows any), asks a price <= the job's max price, both
 * trust at least one common mediator (as many as the job's quorum), and both accept the solver. Among matching offers the
 * cheapest wins, then the oldest (earliest received), then the smallest id.
 *
 * The OrderBook keeps free offers grouped by capacity shape and module bucket, each group sorted by
 * (price, age, id), with "next free" links that skip taken offers. A lookup visits only groups whose
 * shape covers the job and stops in each at the first usable offer, so matching n jobs against m
 * offers costs about (n + m) log m when shapes are few (offers come from configured machine slots).
 */

import { sameList } from './common.ts'

export const MISMATCH_REASONS = ['cpu', 'gpu', 'vram', 'ram', 'disk', 'window', 'module', 'price', 'mediator', 'solver'] as const
export type MismatchReason = typeof MISMATCH_REASONS[number]

export interface MachineSpec {
  cpu: number
  gpu: number
  gpuVramMb: number
  ramMb: number
  diskMb: number
}

export interface MatchableJob extends MachineSpec {
  id: string
  /** how long the provider has from the agree deadline to submit results */
  submitWithin: number
  moduleRepo: string
  maxPrice: bigint
  trustedMediators: readonly string[]
  /** how many mediators both must trust: the verdicts a challenge of the deal needs (default 1) */
  quorum?: number
  trustedSolvers: readonly string[]
  receivedAt: number
}

export interface MatchableOffer extends MachineSpec {
  id: string
  /** the longest submit window the slot takes: its bound on the jobs it runs and the collateral it locks */
  maxSubmitWithin: number
  modules: readonly string[]
  price: bigint
  trustedMediators: readonly string[]
  trustedSolvers: readonly string[]
  receivedAt: number
}

export interface Match<J extends MatchableJob = MatchableJob, O extends MatchableOffer = MatchableOffer> {
  job: J
  offer: O
  /** mediators trusted by both, in the job's order of preference */
  mediators: string[]
}

const lower = (a: readonly string[]): string[] => a.map(s => s.toLowerCase())

/** The first reason this pair cannot match, or null when it can. */
export function mismatchReason (job: MatchableJob, offer: MatchableOffer, solver: string): MismatchReason | null {
  if (offer.cpu < job.cpu) return 'cpu'
  if (offer.gpu < job.gpu) return 'gpu'
  if (job.gpu > 0 && offer.gpuVramMb < job.gpuVramMb) return 'vram'
  if (offer.ramMb < job.ramMb) return 'ram'
  if (offer.diskMb < job.diskMb) return 'disk'
  if (offer.maxSubmitWithin < job.submitWithin) return 'window'
  if (offer.modules.length > 0 && !offer.modules.includes(job.moduleRepo)) return 'module'
  if (offer.price > job.maxPrice) return 'price'
  if (commonMediators(job, offer).length < (job.quorum ?? 1)) return 'mediator'
  const s = solver.toLowerCase()
  if (!lower(job.trustedSolvers).includes(s) || !lower(offer.trustedSolvers).includes(s)) return 'solver'
  return null
}

export function commonMediators (job: Pick<MatchableJob, 'trustedMediators'>, offer: Pick<MatchableOffer, 'trustedMediators'>, max = 8): string[] {
  const theirs = new Set(lower(offer.trustedMediators))
  return job.trustedMediators.filter(m => theirs.has(m.toLowerCase())).slice(0, max)
}

/** cheapest, then oldest, then smallest id */
export function compareOffers (a: MatchableOffer, b: MatchableOffer): number {
  if (a.price !== b.price) return a.price < b.price ? -1 : 1
  if (a.receivedAt !== b.receivedAt) return a.receivedAt - b.receivedAt
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** oldest job first */
export function compareJobs (a: MatchableJob, b: MatchableJob): number {
  if (a.receivedAt !== b.receivedAt) return a.receivedAt - b.receivedAt
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

const ANY_MODULE = '\u0000any'
/** mediators beyond this many distinct addresses are checked through a set instead of a bit mask */
const MASK_BITS = 30

interface Entry<O extends MatchableOffer> {
  offer: O
  /** Number(price): monotonic, so it orders exactly except between prices it cannot tell apart */
  priceNum: number
  /** bit i set when the offer trusts mediator i */
  mask: number
  /** lower-cased mediators, only for offers that trust mediators without a bit */
  extra: Set<string> | null
  /** taken offers are unlinked lazily from every group that holds them, when a scan meets them */
  taken: boolean
}

function compareEntries<O extends MatchableOffer> (a: Entry<O>, b: Entry<O>): number {
  if (a.priceNum !== b.priceNum) return a.priceNum - b.priceNum
  return compareOffers(a.offer, b.offer)
}

/** One sorted run of offers with union-find links to the next offer still free. */
class Group<O extends MatchableOffer> {
  readonly entries: Array<Entry<O>> = []
  private next: Int32Array = new Int32Array(0)
  constructor (readonly shape: SlotShape) {}

  seal (): void {
    this.entries.sort(compareEntries)
    this.next = new Int32Array(this.entries.length + 1)
    for (let i = 0; i <= this.entries.length; i++) this.next[i] = i
  }

  /** index of the first free offer at or after i (path-halving find) */
  firstFree (i: number): number {
    const next = this.next
    while (next[i] !== i) {
      const up = next[next[i]!]!
      next[i] = up
      i = up
    }
    return i
  }

  markTaken (i: number): void { this.next[i] = i + 1 }
}

function trusts (list: readonly string[], lowerAddress: string): boolean {
  for (const a of list) if (a.toLowerCase() === lowerAddress) return true
  return false
}

/** What a book derives from an offer alone; a free offer waits through many books, so once per offer. */
interface OfferTraits {
  /** one group per module bucket: offers of the same capacity shape that allow that module */
  groups: Array<{ bucket: string, key: string }>
  solvers: string[]
  mediators: string[]
  priceNum: number
  /** priceNum is the price exactly */
  exact: boolean
  /** offers with the same terms number match the same jobs: all they differ in is age and id */
  terms: number
}

/**
 * The traits of the offers one matcher meets, each derived once (a solver's book is matched again
 * every round, and a provider's renewed offer mostly has the terms of its last), numbered by terms.
 */
export class OfferTraitsMemo {
  private readonly traits = new WeakMap<MatchableOffer, OfferTraits>()
  private readonly termsNumbers = new Map<string, number>()
  private lastTerms = 0

  of (offer: MatchableOffer): OfferTraits {
    let traits = this.traits.get(offer)
    if (traits === undefined) this.traits.set(offer, traits = this.derive(offer))
    return traits
  }

  /**
   * Gives `to` the traits of `from` when the two offers have the same terms (capacity, modules,
   * price, mediators, solvers), from which the traits are all derived: comparing them costs less
   * than deriving them again.
   */
  inherit (from: MatchableOffer, to: MatchableOffer): void {
    const traits = this.traits.get(from)
    if (traits === undefined || this.traits.has(to) || !sameTerms(from, to)) return
    this.traits.set(to, traits)
  }

  private derive (offer: MatchableOffer): OfferTraits {
    const shape = `${offer.cpu}|${offer.gpu}|${offer.gpuVramMb}|${offer.ramMb}|${offer.diskMb}|${offer.maxSubmitWithin}`
    const solvers = lower(offer.trustedSolvers)
    const mediators = lower(offer.trustedMediators)
    const priceNum = Number(offer.price)
    const termsKey = JSON.stringify([shape, offer.modules, String(offer.price), mediators, solvers])
    let terms = this.termsNumbers.get(termsKey)
    if (terms === undefined) {
      if (this.termsNumbers.size >= 4096) this.termsNumbers.clear() // numbers are never reused
      this.termsNumbers.set(termsKey, terms = ++this.lastTerms)
    }
    return {
      groups: (offer.modules.length === 0 ? [ANY_MODULE] : offer.modules).map(bucket => ({ bucket, key: `${bucket}|${shape}` })),
      solvers,
      mediators,
      priceNum,
      exact: Number.isSafeInteger(priceNum) && BigInt(priceNum) === offer.price,
      terms
    }
  }
}

function sameTerms (a: MatchableOffer, b: MatchableOffer): boolean {
  return a.cpu === b.cpu && a.gpu === b.gpu && a.gpuVramMb === b.gpuVramMb && a.ramMb === b.ramMb && a.diskMb === b.diskMb &&
    a.maxSubmitWithin === b.maxSubmitWithin &&
    a.price === b.price && sameList(a.modules, b.modules) && sameList(a.trustedMediators, b.trustedMediators) &&
    sameList(a.trustedSolvers, b.trustedSolvers)
}

/** `commonMediators`, with the offer's side read from its traits (its mediators already lower-cased). */
function sharedMediators (job: Pick<MatchableJob, 'trustedMediators'>, traits: OfferTraits, max = 8): string[] {
  const out: string[] = []
  for (const m of job.trustedMediators) {
    if (out.length === max) break
    if (traits.mediators.includes(m.toLowerCase())) out.push(m)
  }
  return out
}

export class OrderBook<O extends MatchableOffer = MatchableOffer> {
  private readonly groups: Array<Group<O>> = []
  /** module bucket -> groups holding offers that allow it */
  private readonly byModule = new Map<string, Array<Group<O>>>()
  private readonly byId = new Map<string, Entry<O>>()
  private readonly mediatorBit = new Map<string, number>()
  private readonly solver: string

  /** Offers that do not accept this solver are left out at once. */
  constructor (offers: Iterable<O>, solver: string, memo = new OfferTraitsMemo()) {
    this.solver = solver.toLowerCase()
    const groupsByKey = new Map<string, Group<O>>()
    for (const offer of offers) {
      const traits = memo.of(offer)
      if (!traits.solvers.includes(this.solver)) continue
      const entry = this.entryOf(offer, traits)
      this.byId.set(offer.id, entry)
      for (const { bucket, key } of traits.groups) {
        let group = groupsByKey.get(key)
        if (group === undefined) {
          group = new Group<O>(offer)
          groupsByKey.set(key, group)
          this.groups.push(group)
          const list = this.byModule.get(bucket) ?? []
          list.push(group)
          this.byModule.set(bucket, list)
        }
        group.entries.push(entry)
      }
    }
    for (const group of this.groups) group.seal()
  }

  private entryOf (offer: O, traits: OfferTraits): Entry<O> {
    let mask = 0
    let extra: Set<string> | null = null
    for (const key of traits.mediators) {
      let bit = this.mediatorBit.get(key)
      if (bit === undefined && this.mediatorBit.size < MASK_BITS) this.mediatorBit.set(key, bit = this.mediatorBit.size)
      if (bit !== undefined) mask |= 1 << bit
      else (extra ??= new Set()).add(key)
    }
    return { offer, priceNum: traits.priceNum, mask, extra, taken: false }
  }

  /** The best free offer for this job, or undefined. Does not take it. */
  bestFor (job: MatchableJob): Match<MatchableJob, O> | undefined {
    if (!trusts(job.trustedSolvers, this.solver)) return undefined
    const jobMediators = job.trustedMediators.map(m => m.toLowerCase())
    let jobMask = 0
    for (const m of jobMediators) {
      const bit = this.mediatorBit.get(m)
      if (bit !== undefined) jobMask |= 1 << bit
    }
    const maxPriceNum = Number(job.maxPrice)
    let best: Entry<O> | undefined
    for (const bucket of [ANY_MODULE, job.moduleRepo]) {
      for (const group of this.byModule.get(bucket) ?? []) {
        if (!covers(group.shape, job)) continue
        for (let i = group.firstFree(0); i < group.entries.length; i = group.firstFree(i + 1)) {
          const entry = group.entries[i]!
          if (entry.taken) { group.markTaken(i); continue }
          if (entry.priceNum > maxPriceNum || entry.offer.price > job.maxPrice) break
          if (best !== undefined && compareEntries(entry, best) >= 0) break
          if (!sharesMediators(entry, jobMask, jobMediators, job.quorum ?? 1)) continue
          best = entry
          break
        }
      }
    }
    if (best === undefined) return undefined
    return { job, offer: best.offer, mediators: commonMediators(job, best.offer) }
  }

  /** Marks an offer as taken: no later lookup returns it. */
  take (offerId: string): void {
    const entry = this.byId.get(offerId)
    if (entry !== undefined) entry.taken = true
  }

  /** Greedy matching, oldest job first: each job gets the best offer still free. */
  matchAll<J extends MatchableJob> (jobs: Iterable<J>): Array<Match<J, O>> {
    const sorted = [...jobs].sort(compareJobs)
    const out: Array<Match<J, O>> = []
    for (const job of sorted) {
      const m = this.bestFor(job)
      if (m === undefined) continue
      this.take(m.offer.id)
      out.push({ job, offer: m.offer, mediators: m.mediators })
    }
    return out
  }
}

/** Below this many jobs, scanning every offer for each job costs less than building a book. */
const SCAN_UP_TO_JOBS = 4

/** Greedy matching, oldest job first, of offers with distinct ids: as `OrderBook.matchAll`, by the cheaper way. */
export function matchOffers<J extends MatchableJob, O extends MatchableOffer> (
  offers: readonly O[], jobs: readonly J[], solver: string, memo = new OfferTraitsMemo()
): Array<Match<J, O>> {
  return jobs.length <= SCAN_UP_TO_JOBS ? matchByScan(offers, jobs, solver, memo) : new OrderBook(offers, solver, memo).matchAll(jobs)
}

/** Whether a book entry trusts `quorum` of the job's mediators (the job's as a bit mask, and lower-cased). */
function sharesMediators (entry: Entry<MatchableOffer>, jobMask: number, jobMediators: readonly string[], quorum: number): boolean {
  if (quorum <= 1) return (entry.mask & jobMask) !== 0 || (entry.extra !== null && jobMediators.some(m => entry.extra!.has(m)))
  let shared = 0
  for (let bits = entry.mask & jobMask; bits !== 0; bits &= bits - 1) shared++
  if (entry.extra !== null) for (const m of jobMediators) if (entry.extra.has(m)) shared++
  return shared >= quorum
}

/** The matches of `OrderBook.matchAll`, found by scanning every offer for each job. */
export function matchByScan<J extends MatchableJob, O extends MatchableOffer> (
  offers: readonly O[], jobs: Iterable<J>, solver: string, memo = new OfferTraitsMemo()
): Array<Match<J, O>> {
  const s = solver.toLowerCase()
  const taken = new Set<O>()
  const out: Array<Match<J, O>> = []
  for (const job of oldestFirst(jobs, s)) {
    const fits = fitter(job, s)
    let best: { offer: O, traits: OfferTraits } | undefined
    for (const offer of offers) {
      if (taken.size > 0 && taken.has(offer)) continue
      const traits = memo.of(offer)
      if (fits(offer, traits) && (best === undefined || before(offer, traits, best.offer, best.traits))) best = { offer, traits }
    }
    if (best === undefined) continue
    taken.add(best.offer)
    out.push({ job, offer: best.offer, mediators: sharedMediators(job, best.traits) })
  }
  return out
}

/**
 * Greedy matching, oldest job first, of a book kept sorted by `compareOffers`, as
 * `OrderBook.matchAll` of its usable offers: a few jobs read the book in order up to each match,
 * more build an order book. `usable` gives an entry's offer, or undefined when it may not be matched now.
 */
export function matchBook<J extends MatchableJob, E, O extends MatchableOffer> (
  book: readonly E[], jobs: readonly J[], solver: string, usable: (entry: E) => O | undefined, memo = new OfferTraitsMemo()
): Array<Match<J, O>> {
  if (jobs.length <= SCAN_UP_TO_JOBS) return matchInBookOrder(book, jobs, solver, usable, memo)
  const offers: O[] = []
  for (const entry of book) {
    const offer = usable(entry)
    if (offer !== undefined) offers.push(offer)
  }
  return new OrderBook(offers, solver, memo).matchAll(jobs)
}

/**
 * The matches of `matchByScan` over a book already sorted by `compareOffers`: each job, oldest
 * first, takes the first usable offer that fits, which is the best one. `usable` gives an entry's
 * offer, or undefined for an entry that may not be matched now (held, expired); a job reads the book
 * only up to its match.
 */
export function matchInBookOrder<J extends MatchableJob, E, O extends MatchableOffer> (
  book: readonly E[], jobs: readonly J[], solver: string, usable: (entry: E) => O | undefined, memo = new OfferTraitsMemo()
): Array<Match<J, O>> {
  const s = solver.toLowerCase()
  const taken = new Set<O>()
  const out: Array<Match<J, O>> = []
  for (const job of oldestFirst(jobs, s)) {
    const fits = fitter(job, s)
    for (const entry of book) {
      const offer = usable(entry)
      if (offer === undefined || (taken.size > 0 && taken.has(offer))) continue
      const traits = memo.of(offer)
      if (!fits(offer, traits)) continue
      taken.add(offer)
      out.push({ job, offer, mediators: sharedMediators(job, traits) })
      break
    }
  }
  return out
}

/** The jobs that accept this solver (lower case), oldest first. */
function oldestFirst<J extends MatchableJob> (jobs: Iterable<J>, solver: string): J[] {
  return [...jobs].filter(job => trusts(job.trustedSolvers, solver)).sort(compareJobs)
}

/**
 * Whether an offer fits a job, worked out once per distinct terms (offers with the same terms fit
 * the same jobs); offers side by side mostly share their terms, so the last answer is kept at hand.
 */
function fitter (job: MatchableJob, solver: string): (offer: MatchableOffer, traits: OfferTraits) => boolean {
  const jobMediators = new Set(lower(job.trustedMediators))
  const fitting = new Map<number, boolean>()
  let lastTerms = -1
  let lastFits = false
  return (offer, traits) => {
    if (traits.terms === lastTerms) return lastFits
    let fits = fitting.get(traits.terms)
    if (fits === undefined) fitting.set(traits.terms, fits = fitsJob(offer, traits, job, solver, jobMediators))
    lastTerms = traits.terms
    lastFits = fits
    return fits
  }
}

function fitsJob (offer: MatchableOffer, traits: OfferTraits, job: MatchableJob, solver: string, jobMediators: Set<string>): boolean {
  return traits.solvers.includes(solver) && covers(offer, job) && offer.price <= job.maxPrice &&
    traits.groups.some(g => g.bucket === ANY_MODULE || g.bucket === job.moduleRepo) &&
    ((job.quorum ?? 1) <= 1 ? traits.mediators.some(m => jobMediators.has(m)) : traits.mediators.filter(m => jobMediators.has(m)).length >= (job.quorum ?? 1))
}

/** The book's order: cheapest (as a number, then exactly), then oldest, then smallest id. */
function before (a: MatchableOffer, ta: OfferTraits, b: MatchableOffer, tb: OfferTraits): boolean {
  if (ta.priceNum !== tb.priceNum) return ta.priceNum < tb.priceNum
  if (!ta.exact || !tb.exact) return compareOffers(a, b) < 0
  if (a.receivedAt !== b.receivedAt) return a.receivedAt < b.receivedAt
  return a.id < b.id
}

/** What an offer's slot holds: the machine and how long a job may keep it before results are due. */
type SlotShape = MachineSpec & Pick<MatchableOffer, 'maxSubmitWithin'>

function covers (shape: SlotShape, job: MachineSpec & Pick<MatchableJob, 'submitWithin'>): boolean {
  return shape.cpu >= job.cpu && shape.gpu >= job.gpu && (job.gpu === 0 || shape.gpuVramMb >= job.gpuVramMb) &&
    shape.ramMb >= job.ramMb && shape.diskMb >= job.diskMb && shape.maxSubmitWithin >= job.submitWithin
}
