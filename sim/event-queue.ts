/** A priority queue of timed events: earliest first, ties broken by insertion order (deterministic). */
export interface Timed {
  at: number
}

/**
 * A binary heap kept as parallel arrays: each event's time and insertion number sit in typed arrays,
 * so ordering the heap reads two contiguous arrays instead of an object per comparison (a run holds
 * tens of thousands of events, and each comparison would otherwise be a miss in the cache).
 */
export class EventQueue<T extends Timed> {
  private ats = new Float64Array(1024)
  private seqs = new Float64Array(1024)
  private items: Array<T | undefined> = new Array<T | undefined>(1024)
  private length = 0
  private seq = 0

  get size (): number { return this.length }

  push (item: T): void {
    if (this.length === this.ats.length) this.grow()
    const at = item.at
    const seq = this.seq++
    const { ats, seqs, items } = this
    let i = this.length++
    while (i > 0) {
      const parent = (i - 1) >> 1
      const pa = ats[parent] as number
      if (pa < at || (pa === at && (seqs[parent] as number) < seq)) break
      ats[i] = pa
      seqs[i] = seqs[parent] as number
      items[i] = items[parent]
      i = parent
    }
    ats[i] = at
    seqs[i] = seq
    items[i] = item
  }

  pop (): T | undefined {
    if (this.length === 0) return undefined
    const { ats, seqs, items } = this
    const top = items[0]
    const n = --this.length
    const at = ats[n] as number
    const seq = seqs[n] as number
    const last = items[n]
    items[n] = undefined
    if (n > 0) {
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const child = r < n && before(ats[r] as number, seqs[r] as number, ats[l] as number, seqs[l] as number) ? r : l
        if (!before(ats[child] as number, seqs[child] as number, at, seq)) break
        ats[i] = ats[child] as number
        seqs[i] = seqs[child] as number
        items[i] = items[child]
        i = child
      }
      ats[i] = at
      seqs[i] = seq
      items[i] = last
    }
    return top
  }

  peekAt (): number | undefined {
    return this.length === 0 ? undefined : this.ats[0]
  }

  private grow (): void {
    const ats = new Float64Array(this.ats.length * 2)
    ats.set(this.ats)
    const seqs = new Float64Array(this.seqs.length * 2)
    seqs.set(this.seqs)
    this.ats = ats
    this.seqs = seqs
    this.items.length = ats.length
  }
}

function before (at: number, seq: number, otherAt: number, otherSeq: number): boolean {
  return at < otherAt || (at === otherAt && seq < otherSeq)
}
