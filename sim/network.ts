/**
 * The simulated network: one-way latency (a base plus exponential jitter), independent loss, and
 * partitions that cut a group of nodes off from everyone else for a window of virtual time.
 */
import type { Prng } from './prng.ts'

export interface Partition {
  from: number
  to: number
  /** node indices on one side; everyone else is on the other */
  side: ReadonlySet<number>
}

export interface NetworkOptions {
  latencyMs: number
  jitterMs: number
  /** probability that one message is lost, in [0, 1) */
  loss: number
  partitions: Partition[]
}

export const DEFAULT_NETWORK: NetworkOptions = { latencyMs: 40, jitterMs: 30, loss: 0, partitions: [] }

export class SimNetwork {
  delivered = 0
  lost = 0
  cut = 0

  constructor (readonly options: NetworkOptions, private readonly prng: Prng) {}

  /** Whether a and b can reach each other at time `at`. */
  connected (a: number, b: number, at: number): boolean {
    for (const p of this.options.partitions) {
      if (at >= p.from && at < p.to && p.side.has(a) !== p.side.has(b)) return false
    }
    return true
  }

  /** The delay of one message, or null when it is lost or cut off. */
  transit (from: number, to: number, at: number): number | null {
    if (!this.connected(from, to, at)) { this.cut++; return null }
    if (this.options.loss > 0 && this.prng.chance(this.options.loss)) { this.lost++; return null }
    this.delivered++
    if (from === to) return 0
    return Math.round(this.options.latencyMs + (this.options.jitterMs > 0 ? this.prng.exponential(this.options.jitterMs) : 0))
  }
}
