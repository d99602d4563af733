import { describe, expect, test } from 'vitest'
import { EventQueue } from '../../../sim/event-queue.ts'
import { Prng } from '../../../sim/prng.ts'

describe('seeded generator', () => {
  test('the same seed gives the same stream, another seed another', () => {
    const a = new Prng('seed-1')
    const b = new Prng('seed-1')
    const c = new Prng('seed-2')
    const xs = Array.from({ length: 50 }, () => a.nextU32())
    expect(Array.from({ length: 50 }, () => b.nextU32())).toEqual(xs)
    expect(Array.from({ length: 50 }, () => c.nextU32())).not.toEqual(xs)
  })

  test('floats are uniform in [0, 1): mean and spread of many draws', () => {
    const r = new Prng(7)
    const n = 20_000
    let sum = 0
    let below = 0
    for (let i = 0; i < n; i++) {
      const x = r.float()
      expect(x).toBeGreaterThanOrEqual(0)
      expect(x).toBeLessThan(1)
      sum += x
      if (x < 0.1) below++
    }
    expect(sum / n).toBeCloseTo(0.5, 1)
    expect(below / n).toBeGreaterThan(0.09)
    expect(below / n).toBeLessThan(0.11)
  })

  test('forked streams do not depend on draws made on the parent afterwards', () => {
    const a = new Prng('x')
    const b = new Prng('x')
    const fa = a.fork('net')
    b.nextU32()
    const fb = new Prng('x').fork('net')
    expect(fa.nextU32()).toBe(fb.nextU32())
    expect(a.fork('other').nextU32()).not.toBe(new Prng('x').fork('net').nextU32())
  })

  test('exponential draws have the asked mean', () => {
    const r = new Prng(3)
    let sum = 0
    for (let i = 0; i < 20_000; i++) sum += r.exponential(100)
    expect(sum / 20_000).toBeGreaterThan(95)
    expect(sum / 20_000).toBeLessThan(105)
  })
})

/** Events in the order the queue must give them: by time, then by the order they were queued in. */
function byTimeThenOrder (a: { at: number, n: number }, b: { at: number, n: number }): number {
  return a.at - b.at || a.n - b.n
}

function inQueueOrder<E extends { at: number, n: number }> (events: Iterable<E>): E[] {
  return [...events].sort(byTimeThenOrder)
}

/** Pops every event left. */
function drain<E> (q: EventQueue<E>): E[] {
  const out: E[] = []
  for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e)
  return out
}

describe('event queue', () => {
  test('pops earliest first, and events at the same time in insertion order', () => {
    const q = new EventQueue<{ at: number, name: string }>()
    const r = new Prng(1)
    const items = Array.from({ length: 500 }, (_, i) => ({ at: r.int(50), name: `e${i}` }))
    for (const it of items) q.push(it)
    const out: Array<{ at: number, name: string }> = []
    for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e)
    const expected = items.map((it, i) => ({ ...it, i })).sort((a, b) => a.at - b.at || a.i - b.i).map(({ at, name }) => ({ at, name }))
    expect(out).toEqual(expected)
  })

  test('pushes and pops interleaved, past its first capacity, give the same order as a sorted list', () => {
    const q = new EventQueue<{ at: number, n: number }>()
    const r = new Prng(2)
    let pending: Array<{ at: number, n: number }> = []
    let now = 0
    for (let n = 0; n < 8000; n++) {
      if (r.chance(0.62) || pending.length === 0) {
        const item = { at: now + r.int(100), n }
        q.push(item)
        pending.push(item)
      } else {
        pending.sort(byTimeThenOrder)
        const [first, ...rest] = pending
        const popped = q.pop()
        expect(popped).toBe(first)
        now = popped!.at
        pending = rest
      }
      expect(q.size).toBe(pending.length)
    }
    expect(pending.length).toBeGreaterThan(1024)
  })

  test('events taken out anywhere in the queue, among pushes and pops, leave the others in order', () => {
    const q = new EventQueue<{ at: number, n: number }>()
    const r = new Prng(3)
    const queued = new Map<{ at: number, n: number }, number>()
    let now = 0
    let removed = 0
    let pushed = 0
    for (let n = 0; n < 12000; n++) {
      const roll = r.float()
      if (roll < 0.55 || queued.size === 0) {
        const item = { at: now + r.int(100), n: pushed++ }
        queued.set(item, q.pushAt(item.at, item))
      } else if (roll < 0.8) {
        const all = [...queued.keys()]
        const item = all[r.int(all.length)]!
        expect(q.remove(queued.get(item)!, item)).toBe(true)
        // a second removal, or one by a slot reused since, takes nothing
        expect(q.remove(queued.get(item)!, item)).toBe(false)
        queued.delete(item)
        removed++
      } else {
        const first = inQueueOrder(queued.keys())[0]!
        const slot = queued.get(first)!
        expect(q.pop()).toBe(first)
        queued.delete(first)
        now = first.at
        const reuse = { at: now + 1, n: pushed++ }
        queued.set(reuse, q.pushAt(reuse.at, reuse))
        expect(q.remove(slot, first)).toBe(false)
      }
      expect(q.size).toBe(queued.size)
    }
    expect(removed).toBeGreaterThan(2000)
    const rest = inQueueOrder(queued.keys())
    expect(drain(q)).toEqual(rest)
  })

  test('events due soon and events due much later, taken out and reused while they wait, come in order', () => {
    const q = new EventQueue<{ at: number, n: number }>()
    const r = new Prng(4)
    const queued = new Map<{ at: number, n: number }, number>()
    let now = 0
    let pushed = 0
    let removedLate = 0
    for (let step = 0; step < 20000; step++) {
      const roll = r.float()
      if (roll < 0.5 || queued.size === 0) {
        // most events are due within a few tenths of a second, some minutes ahead, a few at the same time
        const ahead = r.chance(0.3) ? 60_000 + r.int(600_000) : r.chance(0.1) ? 0 : r.int(400)
        const item = { at: now + ahead, n: pushed++ }
        queued.set(item, q.pushAt(item.at, item))
      } else if (roll < 0.7) {
        const all = [...queued.keys()]
        const item = all[r.int(all.length)]!
        if (item.at - now > 1_000) removedLate++
        expect(q.remove(queued.get(item)!, item)).toBe(true)
        expect(q.remove(queued.get(item)!, item)).toBe(false)
        queued.delete(item)
      } else {
        const first = inQueueOrder(queued.keys())[0]!
        expect(q.peekAt()).toBe(first.at)
        expect(q.pop()).toBe(first)
        queued.delete(first)
        now = first.at
      }
      expect(q.size).toBe(queued.size)
    }
    expect(removedLate).toBeGreaterThan(500)
    const rest = inQueueOrder(queued.keys())
    expect(drain(q)).toEqual(rest)
    expect(q.size).toBe(0)
    expect(q.peekAt()).toBeUndefined()
  })

  test('an event queued later in a place set aside comes where it would have come if queued then', () => {
    const q = new EventQueue<string>()
    q.pushAt(10, 'a')
    const first = q.reserve(2)
    q.pushAt(20, 'c')
    q.pushAt(10, 'b')
    q.pushReserved(20, first + 1, 'reserved 2')
    q.pushReserved(10, first, 'reserved 1')
    const out: string[] = []
    for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e)
    expect(out).toEqual(['a', 'reserved 1', 'b', 'reserved 2', 'c'])
  })
})
