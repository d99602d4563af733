// npm run bench -- eventlog: append, replay and restart figures of the event log and actor runtime.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { EventLog, type AppendEntry } from '../src/actors/eventlog/event-log.ts'
import { ActorRuntime } from '../src/actors/runtime/actor-runtime.ts'
import { startMachine, stepMachine } from '../src/actors/runtime/driver.ts'
import { ActorRecord } from '../src/actors/runtime/records.ts'
import type { InputEvent } from '../src/state-machines/contract.ts'
import { jobDefinition, testDefinitions } from '../test/support/job-machine.ts'
import { report, round } from './report.ts'

const BENCH = 'eventlog'
const RESTART_RECORDS = Number(process.env.BENCH_RESTART_RECORDS ?? 1_000_000)

const payload = { deal: '0x' + 'ab'.repeat(32), kind: 'job.offer', price: '1000000000000000000', note: 'x'.repeat(64) }

async function withLog<T> (fn: (log: EventLog, dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-bench-'))
  const log = await EventLog.open(dir)
  try {
    return await fn(log, dir)
  } finally {
    await log.close().catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
  }
}

async function appendBatched (log: EventLog, total: number, batch: number): Promise<number> {
  const start = performance.now()
  for (let done = 0; done < total; done += batch) {
    await log.append(Array.from({ length: batch }, (_, i) => ({ type: 'input', data: { ...payload, i: done + i } })))
  }
  return total / ((performance.now() - start) / 1000)
}

async function appendSingle (log: EventLog, total: number): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < total; i++) await log.append([{ type: 'input', data: { ...payload, i } }])
  return total / ((performance.now() - start) / 1000)
}

async function replay (log: EventLog): Promise<number> {
  const start = performance.now()
  let n = 0
  for await (const _ of log.read(1)) n++
  return n / ((performance.now() - start) / 1000)
}

/**
 * Writes, in large batches, exactly the records the runtime writes for `total` records' worth of
 * jobs (open, start, the work effect and its result, the notice), computing each step with the
 * same pure driver, so that restart replays a realistic log.
 */
export async function fillWithJobs (log: EventLog, total: number, firstJob = 0): Promise<number> {
  let entries: AppendEntry[] = []
  let at = 1_700_000_000_000
  let jobs = firstJob
  const flush = async (): Promise<void> => { await log.append(entries); entries = [] }
  while (log.length + entries.length < total) {
    const stream = `deal:${jobs}`
    const input = { job: String(jobs), timeoutMs: 60_000 }
    let step = startMachine(jobDefinition, input)
    entries.push({ type: ActorRecord.open, data: { stream, machine: 'test-job', input } })
    const feed = (event: InputEvent): void => {
      step = stepMachine(jobDefinition, step.snapshot, event)
      entries.push({ type: ActorRecord.input, data: { stream, event } })
      for (const output of step.outputs) entries.push({ type: ActorRecord.output, data: { stream, output } })
    }
    feed({ type: 'start', payload: `job ${jobs}`, at: at++ })
    entries.push({ type: ActorRecord.ack, data: { stream, id: `work:${jobs}` } })
    feed({ type: 'work.done', result: 'ok', effect: `work:${jobs}`, at: at++ })
    entries.push({ type: ActorRecord.ack, data: { stream, id: `notify:${jobs}` } })
    jobs++
    if (entries.length >= 5000) await flush()
  }
  await flush()
  return jobs - firstJob
}

async function restartSeconds (dir: string, runtimeOptions: { snapshotEvery: number }): Promise<{ seconds: number, report: ActorRuntime['startReport'] }> {
  const start = performance.now()
  const log = await EventLog.open(dir)
  const runtime = await ActorRuntime.start(runtimeOptions, { log, definitions: testDefinitions, effects: {} })
  const seconds = (performance.now() - start) / 1000
  const startReport = runtime.startReport
  await runtime.stop()
  await log.close()
  return { seconds, report: startReport }
}

export async function run (): Promise<void> {
  await withLog(async (log) => {
    report({ bench: BENCH, metric: 'append_batched', value: round(await appendBatched(log, 200_000, 500)), unit: 'records/s', goal: '>=50000', batch: 500 })
    report({ bench: BENCH, metric: 'append_single', value: round(await appendSingle(log, 20_000)), unit: 'records/s' })
    report({ bench: BENCH, metric: 'replay', value: round(await replay(log)), unit: 'records/s', goal: '>=200000', records: log.length, verified: 'hash and chain of every record' })
  })

  const dir = await mkdtemp(join(tmpdir(), 'lilypad-bench-restart-'))
  try {
    const log = await EventLog.open(dir)
    const jobs = await fillWithJobs(log, RESTART_RECORDS)
    const records = log.length
    await log.close()
    // no snapshot exists yet: a full replay of every record through the machines
    const full = await restartSeconds(dir, { snapshotEvery: 0 })
    report({ bench: BENCH, metric: 'restart_1m_full', value: round(full.seconds), unit: 's', records, streams: jobs, replayed: full.report.replayed })
    // a clean stop writes a snapshot; the next start reads it and replays only the tail
    const writer = await EventLog.open(dir)
    const runtime = await ActorRuntime.start({ snapshotEvery: 100_000 }, { log: writer, definitions: testDefinitions, effects: {} })
    await runtime.writeSnapshot()
    await runtime.stop()
    await fillWithJobs(writer, records + 1000, jobs)
    await writer.close()
    const fromSnapshot = await restartSeconds(dir, { snapshotEvery: 0 })
    report({
      bench: BENCH, metric: 'restart_1m_snapshot', value: round(fromSnapshot.seconds), unit: 's', goal: '<=5',
      records: writer.length, replayed: fromSnapshot.report.replayed, baseline: round(full.seconds), ratio: round(fromSnapshot.seconds / full.seconds)
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
