/**
 * Waiting, and trying again, for every layer with effects: one delay (Node's own timers, which
 * stop on abort), and retries whose waits are jittered, so that parties that failed together do not
 * come back together, and that stop when their caller aborts.
 */
import { setTimeout as timeout } from 'node:timers/promises'

export interface DelayOptions {
  signal?: AbortSignal
  /** false: the wait does not keep the process alive on its own */
  ref?: boolean
}

/** Waits `ms`; rejects with the signal's reason if it aborts first. */
export async function delay (ms: number, options: DelayOptions = {}): Promise<void> {
  try {
    await timeout(ms, undefined, options)
  } catch (err) {
    throw options.signal?.aborted === true ? options.signal.reason : err
  }
}

/** Waits `ms`, or less if the signal aborts first; never rejects. */
export async function pause (ms: number, signal: AbortSignal): Promise<void> {
  await timeout(ms, undefined, { signal }).catch(() => undefined)
}

/** A wait of between half `ms` and `ms` ("equal jitter"): never much shorter than asked, never in step. */
export function jittered (ms: number, random: () => number = Math.random): number {
  return Math.round(ms / 2 + random() * ms / 2)
}

export interface RetryOptions {
  /** the wait before each further attempt, jittered; when they run out, the last error is thrown */
  delaysMs: readonly number[]
  /** whether an error is worth another attempt; others are thrown at once */
  retryable: (err: unknown) => boolean
  signal?: AbortSignal
  random?: () => number
  wait?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/**
 * Calls `attempt` until it succeeds, an error is not retryable, the delays run out, or the signal
 * aborts (then the last error is thrown, not the abort).
 */
export async function retry<T> (attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const wait = options.wait ?? (async (ms, signal) => { await delay(ms, { signal }) })
  for (let n = 0; ; n++) {
    try {
      return await attempt(n)
    } catch (err) {
      const next = options.delaysMs[n]
      if (next === undefined || !options.retryable(err) || options.signal?.aborted === true) throw err
      try {
        await wait(jittered(next, options.random), options.signal)
      } catch {
        throw err
      }
    }
  }
}
