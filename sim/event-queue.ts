/** A priority queue of timed events: earliest first, ties broken by insertion order (deterministic). */
export interface Timed {
  at: number
}

interface Slot<T> { at: number, seq: number, item: T }

export class EventQueue<T extends Timed> {
  private heap: Array<Slot<T>> = []
  private seq = 0

  get size (): number { return this.heap.length }

  push (item: T): void {
    const slot = { at: item.at, seq: this.seq++, item }
    const heap = this.heap
    heap.push(slot)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(slot, heap[parent]!)) break
      heap[i] = heap[parent]!
      i = parent
    }
    heap[i] = slot
  }

  pop (): T | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    const last = heap.pop()!
    if (heap.length > 0) {
      let i = 0
      const n = heap.length
      for (;;) {
        const l = 2 * i + 1
        if (l >= n) break
        const r = l + 1
        const child = r < n && before(heap[r]!, heap[l]!) ? r : l
        if (!before(heap[child]!, last)) break
        heap[i] = heap[child]!
        i = child
      }
      heap[i] = last
    }
    return top.item
  }

  peekAt (): number | undefined {
    return this.heap[0]?.at
  }
}

function before<T> (a: Slot<T>, b: Slot<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}
