/**
 * Matching job offers to resource offers (pure).
 *
 * A pair matches when the offer has at least the job's cpu, gpu count, VRAM, ram and disk, allows
 * the job's module (an empty allow-list allows any), asks a price <= the job's max price, both
 * trust at least one common mediator, and both accept the solver. Among matching offers the
 * cheapest wins, then the oldest (earliest received), then the smallest id.
 *
 * The OrderBook keeps free offers grouped by capacity shape and module bucket, each group sorted by
 * (price, age, id), with "next free" links that skip taken offers. A lookup visits only groups whose
 * shape covers the job and stops in each at the first usable offer, so matching n jobs against m
 * offers costs about (n + m) log m when shapes are few (offers come from configured machine slots).
 */

export const MISMATCH_REASONS = ['cpu', 'gpu', 'vram', 'ram', 'disk', 'module', 'price', 'mediator', 'solver'] as const
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
  moduleRepo: string
  maxPrice: bigint
  trustedMediators: readonly string[]
  trustedSolvers: readonly string[]
  receivedAt: number
}

export interface MatchableOffer extends MachineSpec {
  id: string
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
  if (offer.modules.length > 0 && !offer.modules.includes(job.moduleRepo)) return 'module'
  if (offer.price > job.maxPrice) return 'price'
  if (commonMediators(job, offer).length === 0) return 'mediator'
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

/** One sorted run of offers with union-find links to the next offer still free. */
class Group<O extends MatchableOffer> {
  readonly offers: O[] = []
  private next: Int32Array = new Int32Array(0)
  constructor (readonly shape: MachineSpec) {}

  seal (): void {
    this.offers.sort(compareOffers)
    this.next = new Int32Array(this.offers.length + 1)
    for (let i = 0; i <= this.offers.length; i++) this.next[i] = i
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

export class OrderBook<O extends MatchableOffer = MatchableOffer> {
  private readonly groups: Group<O>[] = []
  /** module bucket -> groups holding offers that allow it */
  private readonly byModule = new Map<string, Group<O>[]>()
  private readonly where = new Map<string, Array<{ group: Group<O>, index: number }>>()
  private readonly solver: string

  /** Offers that do not accept this solver are left out at once. */
  constructor (offers: Iterable<O>, solver: string) {
    this.solver = solver.toLowerCase()
    const groupsByKey = new Map<string, Group<O>>()
    for (const offer of offers) {
      if (!lower(offer.trustedSolvers).includes(this.solver)) continue
      const buckets = offer.modules.length === 0 ? [ANY_MODULE] : offer.modules
      for (const bucket of buckets) {
        const key = `${bucket}|${offer.cpu}|${offer.gpu}|${offer.gpuVramMb}|${offer.ramMb}|${offer.diskMb}`
        let group = groupsByKey.get(key)
        if (group === undefined) {
          group = new Group<O>(offer)
          groupsByKey.set(key, group)
          this.groups.push(group)
          const list = this.byModule.get(bucket) ?? []
          list.push(group)
          this.byModule.set(bucket, list)
        }
        group.offers.push(offer)
      }
    }
    for (const group of this.groups) {
      group.seal()
      group.offers.forEach((offer, index) => {
        const at = this.where.get(offer.id) ?? []
        at.push({ group, index })
        this.where.set(offer.id, at)
      })
    }
  }

  /** The best free offer for this job, or undefined. Does not take it. */
  bestFor (job: MatchableJob): Match<MatchableJob, O> | undefined {
    if (!lower(job.trustedSolvers).includes(this.solver)) return undefined
    let best: O | undefined
    let bestMediators: string[] = []
    for (const bucket of [ANY_MODULE, job.moduleRepo]) {
      for (const group of this.byModule.get(bucket) ?? []) {
        if (!covers(group.shape, job)) continue
        for (let i = group.firstFree(0); i < group.offers.length; i = group.firstFree(i + 1)) {
          const offer = group.offers[i]!
          if (offer.price > job.maxPrice) break
          if (best !== undefined && compareOffers(offer, best) >= 0) break
          const mediators = commonMediators(job, offer)
          if (mediators.length === 0) continue
          best = offer
          bestMediators = mediators
          break
        }
      }
    }
    return best === undefined ? undefined : { job, offer: best, mediators: bestMediators }
  }

  /** Marks an offer as taken: no later lookup returns it. */
  take (offerId: string): void {
    for (const { group, index } of this.where.get(offerId) ?? []) group.markTaken(index)
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

function covers (shape: MachineSpec, job: MachineSpec): boolean {
  return shape.cpu >= job.cpu && shape.gpu >= job.gpu && (job.gpu === 0 || shape.gpuVramMb >= job.gpuVramMb) &&
    shape.ramMb >= job.ramMb && shape.diskMb >= job.diskMb
}
