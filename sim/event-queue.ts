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
  /** where in the heap each slot's event is */
  private placeOf = new Int32Array(1024)
  private items: Array<T | undefined> = new Array<T | undefined>(1024)
  /** slots free for new events */
  private free: number[] = []
  private length = 0
  private seq = 0

  get size (): number { return this.length }

  /** Queues an event that carries its own time. */
  push (item: T & Timed): number {
    return this.pushAt(item.at, item)
  }

  /**
   * Queues an event for time `at` (the event need not hold its time: `peekAt` tells it before `pop`).
   * Returns its slot, by which `remove` takes it out while it is queued.
   */
  pushAt (at: number, item: T): number {
    return this.insert(at, this.seq++, item)
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
  pushReserved (at: number, seq: number, item: T): number {
    return this.insert(at, seq, item)
  }

  /**
   * Takes `item` out of the queue if it is still queued in `slot` (a slot popped is reused by later
   * events): a timer whose deadline is gone would otherwise stay queued, and held, until its time.
   */
  remove (slot: number, item: T): boolean {
    if (this.items[slot] !== item) return false
    this.items[slot] = undefined
    this.free.push(slot)
    const i = this.placeOf[slot] as number
    const n = --this.length
    if (i === n) return true
    const at = this.ats[n] as number
    const seq = this.seqs[n] as number
    const last = this.slotOf[n] as number
    if (i > 0 && before(at, seq, this.ats[(i - 1) >> 1] as number, this.seqs[(i - 1) >> 1] as number)) this.siftUp(i, at, seq, last)
    else this.siftDown(i, n, at, seq, last)
    return true
  }

  private insert (at: number, seq: number, item: T): number {
    if (this.length === this.ats.length) this.grow()
    const slot = this.free.length > 0 ? this.free.pop() as number : this.length
    this.items[slot] = item
    this.siftUp(this.length++, at, seq, slot)
    return slot
  }

  /** Places an entry at `i` or above it: parents later than it move down. */
  private siftUp (i: number, at: number, seq: number, slot: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(at, seq, this.ats[parent] as number, this.seqs[parent] as number)) break
      this.move(parent, i)
      i = parent
    }
    this.place(i, at, seq, slot)
  }

  /** Places an entry at `i` or below it, among the first `n`: earlier children move up. */
  private siftDown (i: number, n: number, at: number, seq: number, slot: number): void {
    const { ats, seqs } = this
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const child = r < n && before(ats[r] as number, seqs[r] as number, ats[l] as number, seqs[l] as number) ? r : l
      if (!before(ats[child] as number, seqs[child] as number, at, seq)) break
      this.move(child, i)
      i = child
    }
    this.place(i, at, seq, slot)
  }

  /** Moves the entry at heap index `from` to `to`. */
  private move (from: number, to: number): void {
    this.ats[to] = this.ats[from] as number
    this.seqs[to] = this.seqs[from] as number
    const slot = this.slotOf[from] as number
    this.slotOf[to] = slot
    this.placeOf[slot] = to
  }

  private place (i: number, at: number, seq: number, slot: number): void {
    this.ats[i] = at
    this.seqs[i] = seq
    this.slotOf[i] = slot
    this.placeOf[slot] = i
  }

  pop (): T | undefined {
    if (this.length === 0) return undefined
    const { ats, seqs, slotOf, items } = this
    const topSlot = slotOf[0] as number
    const top = items[topSlot]
    items[topSlot] = undefined
    this.free.push(topSlot)
    const n = --this.length
    if (n > 0) this.siftDown(0, n, ats[n] as number, seqs[n] as number, slotOf[n] as number)
    return top
  }

  peekAt (): number | undefined {
    return this.length === 0 ? undefined : this.ats[0]
  }

  private grow (): void {
    const size = this.ats.length * 2
    this.ats = grown(this.ats, new Float64Array(size))
    this.seqs = grown(this.seqs, new Float64Array(size))
    this.slotOf = grown(this.slotOf, new Int32Array(size))
    this.placeOf = grown(this.placeOf, new Int32Array(size))
    this.items.length = size
  }
}

function grown<A extends Float64Array | Int32Array> (from: A, to: A): A {
  to.set(from)
  return to
}

function before (at: number, seq: number, otherAt: number, otherSeq: number): boolean {
  return at < otherAt || (at === otherAt && seq < otherSeq)
}
