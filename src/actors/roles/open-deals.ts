import type { Envelope } from '../../protocols/messages/envelope.ts'
import type { LilypadDomain } from '../../protocols/messages/eip712-types.ts'
import type { Deal } from '../../protocols/messages/schemas.ts'
import { verifyEnvelope } from '../../protocols/messages/signing.ts'
import { lockedBy } from '../../state-machines/settle.ts'

interface OpenDeal {
  jobCreator: string
  resourceProvider: string
  creatorLock: bigint
  providerLock: bigint
  /** until then the deal may still settle against both deposits */
  mediateDeadline: number
}

/** What a party's open deals lock of its deposit, as a node knows them (DESIGN §8). */
export interface OpenLocks {
  /** in deals between the party and others than this node */
  withOthers: bigint
  /** in deals between the party and this node */
  withUs: bigint
}

/** The most deals the ledger holds; past it, the ones whose mediate deadline comes first go. */
const DEFAULT_LIMIT = 100_000

/**
 * The agreed deals a node has seen (the mesh gossips every deal its provider co-signs, and a party
 * receives its own), each until its mediate deadline: before signing, a party subtracts what its
 * counterparty's open deals lock from its free deposit, since settlement is first come, first
 * served. Only deals signed by both parties count, so a forged deal cannot make an honest party
 * look poor. A deal that settled early is still counted until its mediate deadline: the count errs
 * on the side of the party checking.
 */
export class OpenDeals {
  private readonly deals = new Map<string, OpenDeal>()

  constructor (
    private readonly self: string,
    private readonly domain: LilypadDomain,
    private readonly now: () => number = Date.now,
    private readonly limit = DEFAULT_LIMIT
  ) {}

  /** Records a deal if it is one both parties signed and still open; anything else is ignored. */
  seen (envelope: Envelope): void {
    if (envelope.type !== 'Deal' || envelope.signatures.length !== 2) return
    let dealId: string
    let deal: Deal
    try {
      const verified = verifyEnvelope(this.domain, envelope)
      dealId = verified.id
      deal = verified.message as Deal
    } catch {
      return
    }
    if (this.deals.has(dealId) || deal.mediateDeadline < this.now()) return
    if (this.deals.size >= this.limit) this.dropFirstEnding()
    const locks = lockedBy(deal)
    this.deals.set(dealId, {
      jobCreator: deal.jobCreator.toLowerCase(),
      resourceProvider: deal.resourceProvider.toLowerCase(),
      creatorLock: locks.jobCreator,
      providerLock: locks.resourceProvider,
      mediateDeadline: deal.mediateDeadline
    })
  }

  /** What `account`'s open deals lock of its deposit, but the deal `except` (the one being signed). */
  locksOf (account: string, except?: string): OpenLocks {
    const who = account.toLowerCase()
    const self = this.self.toLowerCase()
    const now = this.now()
    const out: OpenLocks = { withOthers: 0n, withUs: 0n }
    for (const [id, d] of this.deals) {
      if (d.mediateDeadline < now) {
        this.deals.delete(id)
        continue
      }
      if (id === except) continue
      const locked = d.jobCreator === who ? d.creatorLock : d.resourceProvider === who ? d.providerLock : 0n
      if (locked === 0n) continue
      if (d.jobCreator === self || d.resourceProvider === self) out.withUs += locked
      else out.withOthers += locked
    }
    return out
  }

  get size (): number {
    return this.deals.size
  }

  private dropFirstEnding (): void {
    let first: string | undefined
    let at = Infinity
    for (const [id, d] of this.deals) {
      if (d.mediateDeadline < at) {
        at = d.mediateDeadline
        first = id
      }
    }
    if (first !== undefined) this.deals.delete(first)
  }
}
