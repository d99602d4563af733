import { describe, expect, it } from 'vitest'
import { Wallet } from 'ethers'
import { checkpointSigner, type CheckpointData } from '../../../../src/actors/eventlog/checkpoint.ts'
import { EventLog } from '../../../../src/actors/eventlog/event-log.ts'
import { ActorRuntime, type EffectHandler } from '../../../../src/actors/runtime/actor-runtime.ts'
import { auditLog } from '../../../../src/actors/audit.ts'
import type { MachineOutput } from '../../../../src/state-machines/contract.ts'
import type { LogRecord } from '../../../../src/actors/eventlog/record.ts'
import { testDefinitions } from '../../../support/job-machine.ts'
import { ManualClock } from '../../../support/manual-clock.ts'
import { useTempDirs } from '../../../support/temp-dir.ts'
import { deciderMachine } from '../../../../src/state-machines/decider.ts'
import { INPUT_REJECTED, violation } from '../../../../src/state-machines/rejection.ts'

const tempDir = useTempDirs()

async function records (log: EventLog): Promise<LogRecord[]> {
  const out: LogRecord[] = []
  for await (const r of log.read(1)) out.push(r)
  return out
}

function harness (clock = new ManualClock()) {
  const sent: MachineOutput[] = []
  const work: string[] = []
  const effects: Record<string, EffectHandler> = {
    work: async (output) => {
      work.push(output.id)
      return { type: 'work.done', result: `did ${String(output.payload)}` }
    },
    'send.message': async (output) => { sent.push(output) }
  }
  return { clock, sent, work, effects }
}

describe('ActorRuntime', () => {
  it('logs each input with its outputs, carries the outputs out and feeds effect results back', async () => {
    const log = await EventLog.inMemory()
    const h = harness()
    const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects: h.effects, clock: h.clock })
    await runtime.spawn('job:1', 'test-job', { job: '1', timeoutMs: 1000 })
    await runtime.send('job:1', { type: 'start', payload: 'moo' })
    await runtime.idle()
    expect(runtime.snapshot('job:1')!.value).toBe('done')
    expect(h.work).toEqual(['work:1'])
    expect(h.sent).toMatchObject([{ type: 'send.message', id: 'notify:1', body: 'did moo' }])
    const types = (await records(log)).map(r => r.type)
    expect(types).toEqual(['genesis', 'stream.open', 'input', 'output', 'ack', 'input', 'output', 'ack'])
    expect(runtime.pendingOutputs()).toEqual([])
    await runtime.stop()
    await log.close()
  })

  it('checkpoints the log\'s head, signed, right after a step whose outputs `checkpointAfter` picks, and after no other', async () => {
    const wallet = Wallet.createRandom()
    const signer = { address: wallet.address, signDigest: (d: string) => wallet.signingKey.sign(d).serialized }
    const log = await EventLog.inMemory({ signer, checkpointEvery: 0 })
    const h = harness()
    const runtime = await ActorRuntime.start({ checkpointAfter: (outputs) => outputs.some(o => (o.type as string) === 'send.message') }, { log, definitions: testDefinitions, effects: h.effects, clock: h.clock })
    await runtime.spawn('job:1', 'test-job', { job: '1', timeoutMs: 1000 })
    await runtime.send('job:1', { type: 'start', payload: 'moo' })
    await runtime.idle()
    const all = await records(log)
    // the step that sends the message (work.done -> send.message) is sealed by a checkpoint; the one that starts the work is not
    expect(all.map(r => r.type)).toEqual(['genesis', 'stream.open', 'input', 'output', 'ack', 'input', 'output', 'checkpoint', 'ack'])
    const checkpoint = all[7]!.data as CheckpointData
    expect(checkpoint).toMatchObject({ seq: 7, hash: all[6]!.hash })
    expect(checkpointSigner(checkpoint)).toBe(wallet.address)
    expect((await auditLog(log, testDefinitions)).ok).toBe(true)
    await runtime.stop()
    await log.close()
  })

  it('drops a timer that fires as it stops, without reporting an error: the log resumes it on the next start', async () => {
    const log = await EventLog.inMemory()
    const h = harness()
    const errors: Error[] = []
    // the work never answers: the job waits on its give-up timer
    const effects: Record<string, EffectHandler> = { ...h.effects, work: async () => await new Promise(() => {}) }
    const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects, clock: h.clock, onError: (err) => { errors.push(err) } })
    await runtime.spawn('job:1', 'test-job', { job: '1', timeoutMs: 1000 })
    await runtime.send('job:1', { type: 'start', payload: 'moo' })
    // the timer fires, and the runtime stops before its step is taken
    h.clock.advance(1001)
    await runtime.stop()
    expect(errors).toEqual([])
    expect(runtime.snapshot('job:1')!.value).toBe('working')
    await log.close()
  })

  it('writes what `beside` gives for a step\'s outputs in the same batch, before any output is carried out', async () => {
    const log = await EventLog.inMemory()
    const h = harness()
    const seen: Array<string | undefined> = []
    const effects: Record<string, EffectHandler> = {
      ...h.effects,
      work: async (output) => {
        seen.push(await log.bucket('messages').get(`out:${output.id}`))
        return await h.effects.work!(output, { stream: 'job:1', signal: new AbortController().signal })
      }
    }
    const beside = async (outputs: readonly MachineOutput[]) => outputs.map(o => ({ bucket: 'messages' as const, key: `out:${o.id}`, value: `kept with ${o.type}` }))
    const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects, clock: h.clock, beside })
    await runtime.spawn('job:1', 'test-job', { job: '1', timeoutMs: 1000 })
    await runtime.send('job:1', { type: 'start', payload: 'moo' })
    await runtime.idle()
    expect(seen).toEqual(['kept with work'])
    expect(await log.bucket('messages').get('out:notify:1')).toBe('kept with send.message')
    await runtime.stop()
    await log.close()
  })

  it('idle() waits for effects in flight and what they feed back; settled() only for queued inputs', async () => {
    const log = await EventLog.inMemory()
    const h = harness()
    let release!: () => void
    const released = new Promise<void>(resolve => { release = resolve })
    const effects = { ...h.effects, work: async () => { await released; return { type: 'work.done', result: 'late' } } }
    const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects, clock: h.clock })
    await runtime.spawn('job:i', 'test-job', { job: 'i', timeoutMs: 1000 })
    await runtime.send('job:i', { type: 'start' })
    await runtime.settled()
    expect(runtime.snapshot('job:i')!.value).toBe('working')
    let idle = false
    const waiting = runtime.idle().then(() => { idle = true })
    await runtime.settled()
    expect(idle).toBe(false)
    release()
    await waiting
    expect(runtime.snapshot('job:i')!.value).toBe('done')
    expect(h.sent).toMatchObject([{ id: 'notify:i', body: 'late' }])
    await runtime.stop()
    await log.close()
  })

  it('replays a live run into the very same states and outputs', async () => {
    const log = await EventLog.inMemory()
    const h = harness()
    const live = await ActorRuntime.start({ snapshotEvery: 0 }, { log, definitions: testDefinitions, effects: h.effects, clock: h.clock })
    for (let i = 0; i < 5; i++) {
      await live.spawn(`job:${i}`, 'test-job', { job: String(i), timeoutMs: 100 * (i + 1) })
      if (i % 2 === 0) await live.send(`job:${i}`, { type: 'start', payload: `p${i}` })
    }
    await live.idle()
    h.clock.advance(1000)
    await live.idle()
    const liveStates = Object.fromEntries(live.streams().map(s => [s, live.snapshot(s)!.value]))
    const liveContexts = Object.fromEntries(live.streams().map(s => [s, live.snapshot(s)!.context]))
    await live.stop()

    const replayed = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects: {}, clock: h.clock })
    expect(replayed.startReport).toMatchObject({ fromSnapshot: 0, replayed: log.length })
    expect(Object.fromEntries(replayed.streams().map(s => [s, replayed.snapshot(s)!.value]))).toEqual(liveStates)
    expect(Object.fromEntries(replayed.streams().map(s => [s, replayed.snapshot(s)!.context]))).toEqual(liveContexts)
    await replayed.stop()

    const report = await auditLog(log, testDefinitions)
    expect(report.ok).toBe(true)
    expect(report.replayed.outputs).toBe((await records(log)).filter(r => r.type === 'output').length)
    await log.close()
  })

  it('fires a deadline once, as a logged input, and not again after a restart', async () => {
    const log = await EventLog.inMemory()
    const h = harness()
    const effects = { ...h.effects, work: () => new Promise<never>(() => {}) }
    const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects, clock: h.clock })
    await runtime.spawn('job:t', 'test-job', { job: 't', timeoutMs: 500 })
    await runtime.send('job:t', { type: 'start' })
    h.clock.advance(499)
    await runtime.settled()
    expect(runtime.snapshot('job:t')!.value).toBe('working')
    h.clock.advance(1)
    await runtime.settled()
    expect(runtime.snapshot('job:t')!.value).toBe('timedOut')
    const fired = (await records(log)).filter(r => r.type === 'input' && (r.data as { event: { type: string } }).event.type === 'timer.fired')
    expect(fired).toHaveLength(1)
    expect((fired[0]!.data as { event: { at: number, deadline: number } }).event).toMatchObject({ timer: 'giveUp', at: h.clock.now() })
    await runtime.stop()
    const again = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects: h.effects, clock: h.clock })
    h.clock.advance(10_000)
    await again.settled()
    expect((await records(log)).filter(r => r.type === 'input' && (r.data as { event: { type: string } }).event.type === 'timer.fired')).toHaveLength(1)
    await again.stop()
    await log.close()
  })

  it('re-arms timers on restart, including deadlines that passed while the node was down', async () => {
    const dir = await tempDir()
    let log = await EventLog.open(dir)
    const clock = new ManualClock()
    const hanging = { work: () => new Promise<never>(() => {}), 'send.message': async () => {} }
    const first = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects: hanging, clock })
    await first.spawn('job:a', 'test-job', { job: 'a', timeoutMs: 1_000 })
    await first.spawn('job:b', 'test-job', { job: 'b', timeoutMs: 60_000 })
    await first.send('job:a', { type: 'start' })
    await first.send('job:b', { type: 'start' })
    await first.stop()
    await log.close()

    clock.advance(5_000) // the node was down past job a's deadline
    log = await EventLog.open(dir)
    const second = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects: hanging, clock })
    expect(clock.armed()).toBeGreaterThanOrEqual(1)
    await second.settled()
    expect(second.snapshot('job:a')!.value).toBe('timedOut')
    expect(second.snapshot('job:b')!.value).toBe('working')
    clock.advance(60_000)
    await second.settled()
    expect(second.snapshot('job:b')!.value).toBe('timedOut')
    await second.stop()
    await log.close()
  })

  it('turns a failed effect into an effect.failed input and an acknowledgement that says why', async () => {
    const log = await EventLog.inMemory()
    const h = harness()
    const effects = { ...h.effects, work: async () => { throw new Error('disk full') } }
    const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects, clock: h.clock })
    await runtime.spawn('job:f', 'test-job', { job: 'f', timeoutMs: 1000 })
    await runtime.send('job:f', { type: 'start' })
    await runtime.idle()
    expect(runtime.snapshot('job:f')!.value).toBe('failed')
    const ack = (await records(log)).find(r => r.type === 'ack')
    expect(ack!.data).toMatchObject({ stream: 'job:f', id: 'work:f', error: 'disk full' })
    await runtime.stop()
    await log.close()
  })

  it('acknowledges an output no handler can carry out, with the reason, and feeds nothing back', async () => {
    const log = await EventLog.inMemory()
    const h = harness()
    const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects: { 'send.message': h.effects['send.message']! }, clock: h.clock })
    await runtime.spawn('job:n', 'test-job', { job: 'n', timeoutMs: 1000 })
    await runtime.send('job:n', { type: 'start' })
    await runtime.idle()
    expect(runtime.snapshot('job:n')!.value).toBe('working')
    const all = await records(log)
    expect(all.at(-1)!.data).toMatchObject({ stream: 'job:n', id: 'work:n', error: 'no effect handler for work' })
    expect(all.filter(r => r.type === 'input')).toHaveLength(1)
    await runtime.stop()
    await log.close()
  })

  it('rejects inputs for streams that do not exist, logging nothing', async () => {
    const log = await EventLog.inMemory()
    const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions })
    const before = log.length
    await expect(runtime.send('nope', { type: 'start' })).rejects.toMatchObject({ code: 'ERR_UNKNOWN_STREAM' })
    await expect(runtime.spawn('x', 'no-such-machine')).rejects.toThrow(/unknown machine/)
    expect(log.length).toBe(before)
    await runtime.stop()
    await log.close()
  })

  it('restarts from the newest matching snapshot, and ignores one that does not match', async () => {
    const log = await EventLog.inMemory()
    const h = harness()
    const runtime = await ActorRuntime.start({ snapshotEvery: 20 }, { log, definitions: testDefinitions, effects: h.effects, clock: h.clock })
    for (let i = 0; i < 30; i++) {
      await runtime.spawn(`job:${i}`, 'test-job', { job: String(i), timeoutMs: 1000 })
      await runtime.send(`job:${i}`, { type: 'start', payload: String(i) })
    }
    await runtime.idle()
    await runtime.stop()
    const states = Object.fromEntries(runtime.streams().map(s => [s, runtime.snapshot(s)!.context]))

    const fromSnapshot = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects: h.effects, clock: h.clock })
    expect(fromSnapshot.startReport.fromSnapshot).toBeGreaterThan(0)
    expect(fromSnapshot.startReport.replayed).toBeLessThan(log.length)
    expect(Object.fromEntries(fromSnapshot.streams().map(s => [s, fromSnapshot.snapshot(s)!.context]))).toEqual(states)
    await fromSnapshot.stop()

    // a newer machine version makes every snapshot stale: full replay, same state
    const bumped = { 'test-job': { ...testDefinitions['test-job']!, version: 2 } }
    const full = await ActorRuntime.start({ snapshotEvery: 0 }, { log, definitions: bumped, effects: h.effects, clock: h.clock })
    expect(full.startReport.fromSnapshot).toBe(0)
    expect(Object.fromEntries(full.streams().map(s => [s, full.snapshot(s)!.context]))).toEqual(states)
    await full.stop()

    // a snapshot whose log position does not match the log is ignored
    const newest = (await log.snapshots.newestFirst().next()).value!
    await log.snapshots.put(newest.seq + 1, newest.value.replace(/"seq":\d+/, `"seq":${newest.seq + 1}`))
    const guarded = await ActorRuntime.start({ snapshotEvery: 0 }, { log, definitions: testDefinitions, effects: h.effects, clock: h.clock })
    expect(guarded.startReport.fromSnapshot).toBe(newest.seq)
    await guarded.stop()
    // and so is one damaged on disk: its checksum fails, and the state comes from elsewhere
    await log.snapshots.put(newest.seq, newest.value.replace('"done"', '"dune"'))
    const checked = await ActorRuntime.start({ snapshotEvery: 0 }, { log, definitions: testDefinitions, effects: h.effects, clock: h.clock })
    expect(checked.startReport.fromSnapshot).not.toBe(newest.seq)
    expect(Object.fromEntries(checked.streams().map(s => [s, checked.snapshot(s)!.context]))).toEqual(states)
    await checked.stop()
    await log.close()
  })
})

describe('ActorRuntime.offer', () => {
  const counter = deciderMachine<{ count: number }, null>('counter', {
    init: () => ({ count: 0 }),
    initialOutputs: () => [],
    decide: (context, event) => {
      if (event.type !== 'add') violation('UNKNOWN_EVENT', `no ${event.type} here`)
      return { context: { count: context.count + 1 }, outputs: [] }
    }
  })
  const definitions = { counter: { name: 'counter', version: 1, machine: counter } }

  it('logs an input the machine takes, and reports one it refuses without logging it', async () => {
    const log = await EventLog.inMemory()
    const refused: MachineOutput[] = []
    const runtime = await ActorRuntime.start({}, { log, definitions, effects: { [INPUT_REJECTED]: async (output) => { refused.push(output) } } })
    await runtime.spawn('c', 'counter')
    const taken = await runtime.offer('c', { type: 'add' })
    const dropped = await runtime.offer('c', { type: 'spam' })
    const sent = await runtime.send('c', { type: 'spam' })
    await runtime.idle()
    expect(taken.records.map(r => r.type)).toEqual(['input'])
    expect(dropped.records).toEqual([])
    // `send` logs even a refusal, with its output
    expect(sent.records.map(r => r.type)).toEqual(['input', 'output'])
    expect(refused.map(o => o.code)).toEqual(['UNKNOWN_EVENT', 'UNKNOWN_EVENT'])
    expect((runtime.snapshot('c')!.context as { count: number }).count).toBe(1)
    const types = (await records(log)).map(r => r.type)
    expect(types.filter(t => t === 'input')).toHaveLength(2)
    await runtime.stop()
    await log.close()
  })
})
