import { describe, expect, it } from 'vitest'
import { delay, jittered, pause, retry } from '../../../src/support/delay.ts'

describe('delay', () => {
  it('rejects with the abort reason when aborted, and at once when already aborted', async () => {
    const controller = new AbortController()
    const waiting = delay(60_000, { signal: controller.signal })
    controller.abort(new Error('stopping'))
    await expect(waiting).rejects.toThrow('stopping')
    await expect(delay(60_000, { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone')
  })

  it('pause ends quietly on abort', async () => {
    const controller = new AbortController()
    const waiting = pause(60_000, controller.signal)
    controller.abort()
    await expect(waiting).resolves.toBeUndefined()
  })
})

describe('jittered', () => {
  it('stays between half the wait and the wait', () => {
    expect(jittered(1000, () => 0)).toBe(500)
    expect(jittered(1000, () => 0.999999)).toBe(1000)
    for (let i = 0; i < 100; i++) {
      const ms = jittered(400)
      expect(ms).toBeGreaterThanOrEqual(200)
      expect(ms).toBeLessThanOrEqual(400)
    }
  })
})

describe('retry', () => {
  const waits: number[] = []
  const wait = async (ms: number): Promise<void> => { waits.push(ms) }
  const failing = (codes: string[]) => async (n: number): Promise<string> => {
    const code = codes[n]
    if (code === undefined) return `done after ${n}`
    throw Object.assign(new Error(code), { code })
  }
  const retryable = (err: unknown): boolean => (err as { code?: string }).code === 'TRANSIENT'

  it('tries again after each retryable failure, waiting the jittered delays', async () => {
    waits.length = 0
    await expect(retry(failing(['TRANSIENT', 'TRANSIENT']), { delaysMs: [100, 400, 1000], retryable, wait, random: () => 0 })).resolves.toBe('done after 2')
    expect(waits).toEqual([50, 200])
  })

  it('throws the last error when the delays run out, and at once for an error not worth retrying', async () => {
    waits.length = 0
    await expect(retry(failing(['TRANSIENT', 'TRANSIENT', 'TRANSIENT']), { delaysMs: [10, 10], retryable, wait })).rejects.toThrow('TRANSIENT')
    expect(waits).toHaveLength(2)
    waits.length = 0
    await expect(retry(failing(['TRANSIENT', 'FATAL']), { delaysMs: [10, 10, 10], retryable, wait })).rejects.toThrow('FATAL')
    expect(waits).toHaveLength(1)
  })

  it('stops on abort, with the error of the last attempt', async () => {
    const controller = new AbortController()
    let attempts = 0
    const attempt = async (): Promise<never> => {
      attempts++
      if (attempts === 2) controller.abort()
      throw Object.assign(new Error(`attempt ${attempts}`), { code: 'TRANSIENT' })
    }
    await expect(retry(attempt, { delaysMs: [1, 1, 1, 1], retryable, signal: controller.signal })).rejects.toThrow('attempt 2')
    expect(attempts).toBe(2)
    // aborted during the wait: the wait ends at once
    const waiting = new AbortController()
    const started = Date.now()
    const pending = retry(failing(['TRANSIENT']), { delaysMs: [60_000], retryable, signal: waiting.signal })
    setTimeout(() => waiting.abort(), 10)
    await expect(pending).rejects.toThrow('TRANSIENT')
    expect(Date.now() - started).toBeLessThan(5_000)
  })
})
