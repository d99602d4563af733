/** A priority queue of timed events: earliest first, ties broken by insertion order (deterministic). */
export interface Timed {
  at: number
}

/** children per node of the heap: a shallower heap, whose siblings' keys share a cache line */
const ARITY = 4

/**
 * A 4-ary heap kept in typed arrays: each entry's time and insertion number side by side in one
 * array, and the slot that holds its event in another. Ordering the heap reads and moves numbers
 * only: no object per comparison (a run holds tens of thousands of events, and each would be a
 * miss in the cache), and no event reference moved per level (each such store into the large, old
 * array is recorded for the next scavenge). An event is stored once, in its slot, until it is popped.
 *
 * Events added in time order (`pushInOrder`: a run's job arrivals, all known at its start) wait in
 * a list of their own instead of the heap, each with the insertion number it would have had there:
 * the order of every pop is the same, and the heap is smaller by all of them.
 */
export class EventQueue<T extends Timed> {
  /** per heap position: time at 2i, insertion number at 2i + 1 */
  private keys = new Float64Array(2 * 1024)
  private slotOf = new Int32Array(1024)
  private items: Array<T | undefined> = new Array<T | undefined>(1024)
  /** slots free for new events */
  private free: number[] = []
  private length = 0
  private seq = 0
  private readonly inOrder: Array<T | undefined> = []
  private readonly inOrderSeqs: number[] = []
  private inOrderHead = 0

  get size (): number { return this.length + this.inOrder.length - this.inOrderHead }

  push (item: T): void {
    if (this.length === this.slotOf.length) this.grow()
    const at = item.at
    const seq = this.seq++
    const slot = this.free.length > 0 ? this.free.pop() as number : this.length
    this.items[slot] = item
    const { keys, slotOf } = this
    let i = this.length++
    while (i > 0) {
      const parent = ((i - 1) / ARITY) | 0
      const pa = keys[2 * parent] as number
      if (pa < at || (pa === at && (keys[2 * parent + 1] as number) < seq)) break
      keys[2 * i] = pa
      keys[2 * i + 1] = keys[2 * parent + 1] as number
      slotOf[i] = slotOf[parent] as number
      i = parent
    }
    keys[2 * i] = at
    keys[2 * i + 1] = seq
    slotOf[i] = slot
  }

  /** Adds an event no earlier than any added this way before (a RangeError otherwise). */
  pushInOrder (item: T): void {
    const last = this.inOrder.length > this.inOrderHead ? this.inOrder[this.inOrder.length - 1] as T : undefined
    if (last !== undefined && last.at > item.at) throw new RangeError(`events pushed in order must not go back in time (${item.at} after ${last.at})`)
    this.inOrder.push(item)
    this.inOrderSeqs.push(this.seq++)
  }

  pop (): T | undefined {
    if (this.inOrderHead < this.inOrder.length) {
      const next = this.inOrder[this.inOrderHead] as T
      if (this.length === 0 || before(next.at, this.inOrderSeqs[this.inOrderHead] as number, this.keys[0] as number, this.keys[1] as number)) {
        this.inOrder[this.inOrderHead] = undefined
        this.inOrderHead++
        if (this.inOrderHead === this.inOrder.length) {
          this.inOrder.length = 0
          this.inOrderSeqs.length = 0
          this.inOrderHead = 0
        }
        return next
      }
    }
    return this.popHeap()
  }

  private popHeap (): T | undefined {
    if (this.length === 0) return undefined
    const { keys, slotOf, items } = this
    const topSlot = slotOf[0] as number
    const top = items[topSlot]
    items[topSlot] = undefined
    this.free.push(topSlot)
    const n = --this.length
    const at = keys[2 * n] as number
    const seq = keys[2 * n + 1] as number
    const last = slotOf[n] as number
    if (n > 0) {
      let i = 0
      for (;;) {
        const first = ARITY * i + 1
        if (first >= n) break
        // the earliest child
        let child = first
        let childAt = keys[2 * first] as number
        let childSeq = keys[2 * first + 1] as number
        const end = Math.min(first + ARITY, n)
        for (let c = first + 1; c < end; c++) {
          const cAt = keys[2 * c] as number
          const cSeq = keys[2 * c + 1] as number
          if (before(cAt, cSeq, childAt, childSeq)) {
            child = c
            childAt = cAt
            childSeq = cSeq
          }
        }
        if (!before(childAt, childSeq, at, seq)) break
        keys[2 * i] = childAt
        keys[2 * i + 1] = childSeq
        slotOf[i] = slotOf[child] as number
        i = child
      }
      keys[2 * i] = at
      keys[2 * i + 1] = seq
      slotOf[i] = last
    }
    return top
  }

  private grow (): void {
    const size = this.slotOf.length * 2
    const keys = new Float64Array(2 * size)
    keys.set(this.keys)
    const slotOf = new Int32Array(size)
    slotOf.set(this.slotOf)
    this.keys = keys
    this.slotOf = slotOf
    this.items.length = size
  }
}

function before (at: number, seq: number, otherAt: number, otherSeq: number): boolean {
  return at < otherAt || (at === otherAt && seq < otherSeq)
}
