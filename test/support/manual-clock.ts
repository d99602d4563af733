import type { Clock } from '../../src/actors/runtime/clock.ts'

/** A clock tests move by hand; due timers fire on advance(). */
export class ManualClock implements Clock {
  private timers: Array<{ at: number, fire: () => void, cancelled: boolean }> = []
  constructor (private time = 1_700_000_000_000) {}

  now (): number {
    return this.time
  }

  schedule (at: number, fire: () => void): () => void {
    const timer = { at, fire, cancelled: false }
    this.timers.push(timer)
    if (at <= this.time) queueMicrotask(() => this.fireDue())
    return () => { timer.cancelled = true }
  }

  advance (ms: number): void {
    this.time += ms
    this.fireDue()
  }

  armed (): number {
    return this.timers.filter(t => !t.cancelled).length
  }

  private fireDue (): void {
    const due = this.timers.filter(t => !t.cancelled && t.at <= this.time)
    this.timers = this.timers.filter(t => !due.includes(t))
    for (const timer of due) timer.fire()
  }
}
