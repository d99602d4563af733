/** Message ids already seen, each kept until it expires; bounded so a flood cannot grow it without limit. */
export class SeenCache {
  private readonly until = new Map<string, number>()

  constructor (private readonly maxEntries = 100_000) {}

  has (id: string, now: number): boolean {
    const until = this.until.get(id)
    if (until === undefined) return false
    if (until < now) {
      this.until.delete(id)
      return false
    }
    return true
  }

  /** Remembers `id` until `until` (ms); evicts the oldest entries when full. */
  add (id: string, until: number): void {
    this.until.delete(id)
    this.until.set(id, until)
    while (this.until.size > this.maxEntries) this.until.delete(this.until.keys().next().value as string)
  }

  prune (now: number): void {
    for (const [id, until] of this.until) if (until < now) this.until.delete(id)
  }

  get size (): number {
    return this.until.size
  }
}
