/** A priority queue of timed events: earliest first, ties broken by insertion order (deterministic). */
export interface Timed {
  at: number
}

/**
 * A binary heap kept as parallel typed arrays: each entry's time, insertion number and the slot that
 * holds its event. Ordering the heap reads and moves numbers only: no object per comparison (a run
 * holds tens of thousands of events, and each would be a miss in the cache), and no event reference
 * moved per level (each such store into the large, old array is recorded for the next scavenge).
 * An event is stored once, in its slot, until it is popped.
 */
export class EventQueue<T> {
  private ats = new Float64Array(1024)
  private seqs = new Float64Array(1024)
  private slotOf = new Int32Array(1024)
  private items: Array<T | undefined> = new Array<T | undefined>(1024)
  /** slots free for new events */
  private free: number[] = []
  private length = 0
  private seq = 0

  get size (): number { return this.length }

  /** Queues an event that carries its own time. */
  push (item: T & Timed): void {
    this.pushAt(item.at, item)
  }

  /** Queues an event for time `at` (the event need not hold its time: `peekAt` tells it before `pop`). */
  pushAt (at: number, item: T): void {
    this.insert(at, this.seq++, item)
  }

  /**
   * Sets aside `count` places in the insertion order, the first of which it returns: an event queued
   * later in one of them (`pushReserved`) is ordered as if it had been queued now.
   */
  reserve (count: number): number {
    const first = this.seq
    this.seq += count
    return first
  }

  /** Queues an event for time `at` in a place of the insertion order set aside by `reserve`. */
  pushReserved (at: number, seq: number, item: T): void {
    this.insert(at, seq, item)
  }

  private insert (at: number, seq: number, item: T): void {
    if (this.length === this.ats.length) this.grow()
    const slot = this.free.length > 0 ? this.free.pop() as number : this.length
    this.items[slot] = item
    const { ats, seqs, slotOf } = this
    let i = this.length++
    while (i > 0) {
      const parent = (i - 1) >> 1
      const pa = ats[parent] as number
      if (pa < at || (pa === at && (seqs[parent] as number) < seq)) break
      ats[i] = pa
      seqs[i] = seqs[parent] as number
      slotOf[i] = slotOf[parent] as number
      i = parent
    }
    ats[i] = at
    seqs[i] = seq
    slotOf[i] = slot
  }

  pop (): T | undefined {
    if (this.length === 0) return undefined
    const { ats, seqs, slotOf, items } = this
    const topSlot = slotOf[0] as number
    const top = items[topSlot]
    items[topSlot] = undefined
    this.free.push(topSlot)
    const n = --this.length
    const at = ats[n] as number
    const seq = seqs[n] as number
    const last = slotOf[n] as number
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
        slotOf[i] = slotOf[child] as number
        i = child
      }
      ats[i] = at
      seqs[i] = seq
      slotOf[i] = last
    }
    return top
  }

  peekAt (): number | undefined {
    return this.length === 0 ? undefined : this.ats[0]
  }

  private grow (): void {
    const size = this.ats.length * 2
    const ats = new Float64Array(size)
    ats.set(this.ats)
    const seqs = new Float64Array(size)
    seqs.set(this.seqs)
    const slotOf = new Int32Array(size)
    slotOf.set(this.slotOf)
    this.ats = ats
    this.seqs = seqs
    this.slotOf = slotOf
    this.items.length = size
  }
}

function before (at: number, seq: number, otherAt: number, otherSeq: number): boolean {
  return at < otherAt || (at === otherAt && seq < otherSeq)
}
