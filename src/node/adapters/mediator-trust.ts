/**
 * The mediators a node trusts: those its configuration names, and, when it asks for them with a
 * least stake, those that announce themselves on the mesh (`MediatorAnnouncement`) and hold at least
 * that stake on chain, registered for a fee no higher than `maxFee` where one is given. An
 * announcement is only how a mediator is found: its stake and fee are read from the settlement
 * contract, never taken from what it says of itself. Configured mediators come first, then announced
 * ones by stake, most first; at most LIMITS.trusted in all (what an offer may name).
 */
import { LIMITS } from '../../protocols/messages/fields.ts'
import type { Service } from '../../support/lifecycle.ts'
import { sameAddress } from '../../state-machines/common.ts'

export interface MediatorTerms {
  registered: boolean
  fee: bigint
  stake: bigint
}

export interface MediatorTrustOptions {
  configured: readonly string[]
  /** the least stake an announced mediator must hold; absent: announced mediators are not trusted */
  minStake?: bigint
  /** the highest registered fee an announced mediator may ask (absent: any) */
  maxFee?: bigint
  /** the authors of the live mediator announcements the mesh holds */
  announcers: () => string[]
  termsOf: (mediator: string) => Promise<MediatorTerms>
  /** told of each new trusted list (not of the same list again) */
  onChange?: (trusted: string[]) => Promise<void>
  /** how often announcements and stakes are read again (default 60 s) */
  refreshMs?: number
  onError?: (err: Error) => void
}

export const TRUST_REFRESH_MS = 60_000
/** how long after an announcement arrives the list is read again: a burst of them costs one read */
export const TRUST_SOON_MS = 1_000
/**
 * The most announcers whose terms one read asks the chain for: announcing is free, so a flood of
 * made-up mediators costs this many calls a read at most (each answer is kept until the next
 * periodic read).
 */
export const MAX_CANDIDATES = 256

export class MediatorTrust implements Service {
  private current: string[]
  /** the announced mediators that held the stake at the last read */
  private staked: string[] = []
  /** whether onChange was told a list yet (a restarted provider holds the list it was told last) */
  private told = false
  private timer: NodeJS.Timeout | undefined
  private soonTimer: NodeJS.Timeout | undefined
  private refreshing: Promise<string[]> | undefined
  /** the terms read from the chain, by lower-cased address, until the next periodic read */
  private readonly known = new Map<string, MediatorTerms | null>()

  constructor (private readonly o: MediatorTrustOptions) {
    this.current = unique(o.configured).slice(0, LIMITS.trusted)
  }

  /** The list as last read. */
  trusted (): string[] {
    return this.current
  }

  /** `configured`, then the announced mediators that held the stake at the last read: what a job offer names. */
  with (configured: readonly string[]): string[] {
    return unique([...configured, ...this.staked]).slice(0, LIMITS.trusted)
  }

  /** Reads announcements and stakes again and returns the list; one read at a time. */
  async refresh (): Promise<string[]> {
    this.refreshing ??= this.read().finally(() => { this.refreshing = undefined })
    return await this.refreshing
  }

  start (): void {
    if (this.o.minStake === undefined || this.timer !== undefined) return
    const tick = (): void => {
      this.known.clear()
      this.refresh().catch((err: Error) => this.o.onError?.(err))
    }
    tick()
    this.timer = setInterval(tick, this.o.refreshMs ?? TRUST_REFRESH_MS)
    this.timer.unref()
  }

  /** An announcement arrived: reads the list again shortly (a mediator just come is trusted within a second or so). */
  soon (): void {
    if (this.timer === undefined || this.soonTimer !== undefined) return
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined
      this.refresh().catch((err: Error) => this.o.onError?.(err))
    }, TRUST_SOON_MS)
    this.soonTimer.unref()
  }

  async stop (): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.soonTimer !== undefined) clearTimeout(this.soonTimer)
    this.timer = undefined
    this.soonTimer = undefined
    await this.refreshing?.catch(() => undefined)
  }

  private async read (): Promise<string[]> {
    const { minStake, maxFee } = this.o
    if (minStake === undefined) return this.current
    const configured = unique(this.o.configured)
    const known = new Set(configured.map(a => a.toLowerCase()))
    const candidates = unique(this.o.announcers()).filter(a => !known.has(a.toLowerCase())).slice(0, MAX_CANDIDATES)
    const read = await Promise.all(candidates.map(async a => ({ address: a, terms: await this.termsOf(a) })))
    const staked = read
      .filter((r): r is { address: string, terms: MediatorTerms } =>
        r.terms !== undefined && r.terms.registered && r.terms.stake >= minStake && (maxFee === undefined || r.terms.fee <= maxFee))
      .sort((a, b) => (a.terms.stake === b.terms.stake ? (a.address.toLowerCase() < b.address.toLowerCase() ? -1 : 1) : a.terms.stake > b.terms.stake ? -1 : 1))
      .map(r => r.address)
    this.staked = staked
    const next = [...configured, ...staked].slice(0, LIMITS.trusted)
    // an offer names at least one mediator: with none to name, the list stays as it was
    if (next.length > 0 && (!this.told || !sameList(next, this.current))) {
      this.current = next
      this.told = true
      await this.o.onChange?.(next)
    }
    return next
  }

  private async termsOf (mediator: string): Promise<MediatorTerms | undefined> {
    const key = mediator.toLowerCase()
    if (this.known.has(key)) return this.known.get(key) ?? undefined
    const terms = await this.o.termsOf(mediator).catch(() => undefined)
    // a chain that did not answer is asked again next time; its answer is kept till the next periodic read
    if (terms !== undefined) this.known.set(key, terms)
    return terms
  }
}

function unique (addresses: readonly string[]): string[] {
  const seen = new Set<string>()
  return addresses.filter(a => {
    const key = a.toLowerCase()
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function sameList (a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => sameAddress(x, b[i]!))
}
