import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { WarmRuns } from '../../../../src/node/adapters/warm-runs.ts'
import type { ExecutionResult } from '../../../../src/executor/results/execution.ts'

const T0 = 1_900_000_000_000
const RESULT = { exitCode: 0, timedOut: false, durationMs: 5 } as ExecutionResult
const live = (): AbortSignal => new AbortController().signal
const CREATOR = '0x' + 'c1'.repeat(20)
const OTHER_CREATOR = '0x' + 'c2'.repeat(20)

/** A run that writes its folder and ends when `finish` is called, or rejects when stopped. */
function controlledRun (dir: string): { run: (signal: AbortSignal) => Promise<ExecutionResult>, finish: () => void, stopped: () => boolean } {
  let finish = (): void => {}
  let stopped = false
  const run = async (signal: AbortSignal): Promise<ExecutionResult> => {
    const ended = new Promise<void>((resolve, reject) => {
      finish = resolve
      signal.addEventListener('abort', () => { stopped = true; reject(signal.reason) }, { once: true })
    })
    // stopped before it reaches its await, it still ends with the reason
    ended.catch(() => undefined)
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'stdout'), 'moo')
    await ended
    return RESULT
  }
  return { run, finish: () => { finish() }, stopped: () => stopped }
}

describe('runs started ahead of their deals', () => {
  let root: string
  let now = T0
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'warm-runs-'))
    now = T0
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
  })
  afterEach(() => { vi.useRealTimers() })

  test('the deal\'s run takes the run under way once it ends, with its folder', async () => {
    const runs = new WarmRuns(() => now)
    const dir = join(root, 'a')
    const run = controlledRun(dir)
    runs.start('job', CREATOR, T0 + 10_000, dir, run.run)
    const taken = runs.take('job', live())
    run.finish()
    expect(await taken).toEqual({ dir, result: RESULT })
    expect(existsSync(join(dir, 'stdout'))).toBe(true)
    // taken once: a second take finds none, and nothing is dropped later
    expect(await runs.take('job', live())).toBeUndefined()
    await vi.advanceTimersByTimeAsync(20_000)
    expect(existsSync(dir)).toBe(true)
    expect(runs.counts).toEqual({ started: 1, taken: 1, stopped: 0, refused: 0 })
  })

  test('a run no deal takes is stopped after its proposal\'s expiry, and its folder removed', async () => {
    const runs = new WarmRuns(() => now)
    const dir = join(root, 'b')
    const run = controlledRun(dir)
    runs.start('job', CREATOR, T0 + 10_000, dir, run.run)
    await vi.advanceTimersByTimeAsync(10_999)
    expect(run.stopped()).toBe(false)
    await vi.advanceTimersByTimeAsync(2)
    expect(run.stopped()).toBe(true)
    await vi.waitFor(() => { expect(existsSync(dir)).toBe(false) })
    expect(await runs.take('job', live())).toBeUndefined()
    expect(runs.counts).toEqual({ started: 1, taken: 0, stopped: 1, refused: 0 })
  })

  test('a run that failed is no run: the deal runs the job itself, and the folder is gone', async () => {
    const runs = new WarmRuns(() => now)
    const dir = join(root, 'c')
    runs.start('job', CREATOR, T0 + 10_000, dir, async () => {
      await mkdir(dir, { recursive: true })
      throw new Error('the engine went away')
    })
    expect(await runs.take('job', live())).toBeUndefined()
    expect(existsSync(dir)).toBe(false)
  })

  test('the deal\'s run stopping stops the run it was waiting for', async () => {
    const runs = new WarmRuns(() => now)
    const dir = join(root, 'd')
    const run = controlledRun(dir)
    runs.start('job', CREATOR, T0 + 10_000, dir, run.run)
    const controller = new AbortController()
    const taken = runs.take('job', controller.signal)
    controller.abort(new Error('the node stops'))
    expect(await taken).toBeUndefined()
    expect(run.stopped()).toBe(true)
    expect(existsSync(dir)).toBe(false)
  })

  test('none starts for a proposal already expired, twice for one job, or past the limit; stop ends them all', async () => {
    const runs = new WarmRuns(() => now)
    let started = 0
    const counted = (dir: string): ((signal: AbortSignal) => Promise<ExecutionResult>) => {
      const run = controlledRun(dir)
      return async (signal) => { started++; return await run.run(signal) }
    }
    runs.start('late', CREATOR, T0, join(root, 'late'), counted(join(root, 'late')))
    runs.start('job', CREATOR, T0 + 10_000, join(root, 'j'), counted(join(root, 'j')))
    runs.start('job', CREATOR, T0 + 10_000, join(root, 'j2'), counted(join(root, 'j2')))
    for (let i = 0; i < 10; i++) runs.start(`other-${i}`, CREATOR, T0 + 10_000, join(root, `o${i}`), counted(join(root, `o${i}`)))
    expect(started).toBe(8)
    expect(runs.counts).toEqual({ started: 8, taken: 0, stopped: 0, refused: 3 })
    await runs.stop()
    expect(runs.counts).toMatchObject({ stopped: 8 })
    await vi.waitFor(() => { expect(existsSync(join(root, 'j'))).toBe(false) })
    expect(await runs.take('job', live())).toBeUndefined()
  })

  test('a creator gets runs ahead while those it left unsigned are no more than its deals run here, plus one, in ten minutes', async () => {
    const runs = new WarmRuns(() => now)
    runs.start('first', CREATOR, T0 + 10_000, join(root, 'f'), controlledRun(join(root, 'f')).run)
    now = T0 + 11_001
    await vi.advanceTimersByTimeAsync(11_001)
    const started: string[] = []
    const start = (key: string, author: string): void => {
      const run = controlledRun(join(root, key))
      runs.start(key, author, now + 10_000, join(root, key), async (signal) => { started.push(key); return await run.run(signal) })
    }
    start('again', CREATOR.toUpperCase().replace('0X', '0x'))
    start('other', OTHER_CREATOR)
    // a deal of the creator's ran here: one more run ahead may go unsigned
    runs.dealRun(CREATOR)
    start('after a deal', CREATOR)
    now += 11_001
    await vi.advanceTimersByTimeAsync(11_001)
    start('left unsigned again', CREATOR)
    now = T0 + 11_001 + 10 * 60_000
    start('next window', CREATOR)
    expect(started).toEqual(['other', 'after a deal', 'next window'])
    expect(runs.counts).toMatchObject({ started: 4, refused: 2 })
    await runs.stop()
  })
})

