/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through splitmix32), so that a scenario and
 * a seed always give the same run. Streams forked by label stay independent of one another: adding
 * draws to one part of the simulation does not shift the numbers another part sees.
 */
import { hex0x } from '../src/protocols/messages/hex.ts'

export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: string | number) {
    let h = hashString(String(seed))
    const next = (): number => {
      h = (h + 0x9e3779b9) | 0
      let z = h
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next(); this.b = next(); this.c = next(); this.d = next()
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1
  }

  /** A new generator whose stream depends on this one's seed state and the label only. */
  fork (label: string): Prng {
    return new Prng(`${this.a}:${this.b}:${this.c}:${this.d}:${label}`)
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32 (): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  /** Uniform in [0, 1) with 53 random bits. */
  float (): number {
    const hi = this.nextU32() >>> 5
    const lo = this.nextU32() >>> 6
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** Uniform integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.float() * n)
  }

  chance (p: number): boolean {
    return p > 0 && this.float() < p
  }

  /** Exponentially distributed with the given mean. */
  exponential (mean: number): number {
    return -mean * Math.log(1 - this.float())
  }

  /** Uniform in [lo, hi]. */
  between (lo: number, hi: number): number {
    return lo + (hi - lo) * this.float()
  }

  pick<T> (items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list')
    return items[this.int(items.length)] as T
  }

  /** 32 bytes of hex, e.g. a job creator's check secret. */
  bytes32 (): string {
    const bytes = Buffer.allocUnsafe(32)
    for (let i = 0; i < 8; i++) bytes.writeUInt32BE(this.nextU32(), 4 * i)
    return hex0x(bytes)
  }
}

function rotl (x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

/** FNV-1a, 32 bits. */
export function hashString (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
