import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { jobEffects, type JobRunner } from '../../../../src/actors/roles/effects/jobs.ts'
import { ModuleRunner, SpecMismatchError } from '../../../../src/node/adapters/module-runner.ts'
import { cidOfPath, parseCid } from '../../../../src/executor/results/cid.ts'
import { writeFailedRun } from '../../../../src/executor/results/failed-run.ts'
import { ResultsStore } from '../../../../src/executor/results/store.ts'
import type { JobOffer } from '../../../../src/protocols/messages/schemas.ts'
import { useTempDirs } from '../../../support/temp-dir.ts'

const tempDir = useTempDirs()
const stores: ResultsStore[] = []
afterEach(async () => { await Promise.all(stores.splice(0).map(s => s.close())) })

const job = { moduleRepo: '/modules/cowsay', moduleCommit: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2', specHash: '0x' + '12'.repeat(32) } as JobOffer
const mismatch = (): SpecMismatchError => new SpecMismatchError(`module ${job.moduleRepo}@${job.moduleCommit} renders to spec 0x${'34'.repeat(32)}, the offer says ${job.specHash}`)

/** A runner whose run and prepare do what it is told, keeping failed runs as the node's runner does. */
async function runner (behaviour: Partial<Pick<JobRunner, 'run' | 'prepare'>>): Promise<JobRunner & { store: ResultsStore }> {
  const dataDir = await tempDir()
  const store = await ResultsStore.open(dataDir)
  stores.push(store)
  const real = new ModuleRunner({ dataDir }, { executors: {}, results: store })
  return {
    store,
    run: behaviour.run ?? (async () => { throw new Error('run not expected') }),
    prepare: behaviour.prepare ?? (async () => {}),
    failed: (runId, err) => real.failed(runId, err)
  }
}

const runOutput = (signal = new AbortController().signal) => [{ type: 'job.run', id: 'run:0xd1', dealId: '0xd1', purpose: 'execute', job: job as never }, { stream: 'rp', signal }] as const
const prepareOutput = (signal = new AbortController().signal) => [{ type: 'job.prepare', id: 'prepare:0xd1', job: job as never, maxDurationMs: 90_000 }, { stream: 'rp', signal }] as const

describe('job effects', () => {
  it('job.run: a run that throws for the job\'s sake finishes with the failed-run results, stored', async () => {
    const r = await runner({ run: async () => { throw mismatch() } })
    const finished = await jobEffects(r)['job.run']!(...runOutput()) as Record<string, unknown>
    const canonical = (await cidOfPath(await writeFailedRun(join(await tempDir(), 'results'), 'ERR_SPEC_MISMATCH'))).toString()
    expect(finished).toEqual({ type: 'job.finished', resultsCid: canonical, exitCode: 125, durationMs: 0, cpuMs: 0, failure: 'ERR_SPEC_MISMATCH' })
    expect(await r.store.has(parseCid(canonical))).toBe(true)
  })

  it('job.run: a run that finishes is reported as it is, with no failure', async () => {
    const r = await runner({ run: async () => ({ resultsCid: 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN', exitCode: 3, durationMs: 40, cpuMs: 0 }) })
    expect(await jobEffects(r)['job.run']!(...runOutput()))
      .toEqual({ type: 'job.finished', resultsCid: 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN', exitCode: 3, durationMs: 40, cpuMs: 0 })
  })

  it('job.run: a run stopped by the runtime still fails the effect, and keeps no results', async () => {
    const controller = new AbortController()
    const r = await runner({
      run: (_job, _runId, signal) => new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(new Error('stopped')), { once: true })
        controller.abort()
      })
    })
    await expect(jobEffects(r)['job.run']!(...runOutput(controller.signal))).rejects.toThrow('stopped')
    const canonical = await cidOfPath(await writeFailedRun(join(await tempDir(), 'results'), 'ERR_RUN_FAILED'))
    expect(await r.store.has(canonical)).toBe(false)
  })

  it('job.prepare: a job that can run here is ok, checked against the deal\'s limit', async () => {
    const limits: number[] = []
    const r = await runner({ prepare: async (_job, l) => { limits.push(l.maxDurationMs) } })
    expect(await jobEffects(r)['job.prepare']!(...prepareOutput())).toEqual({ type: 'job.prepared', ok: true })
    expect(limits).toEqual([90_000])
  })

  it('job.prepare: a spec mismatch is a refusal with its code and reason, not a failed effect', async () => {
    const err = mismatch()
    const r = await runner({ prepare: async () => { throw err } })
    expect(await jobEffects(r)['job.prepare']!(...prepareOutput()))
      .toEqual({ type: 'job.prepared', ok: false, failure: 'ERR_SPEC_MISMATCH', reason: err.message })
  })

  it('job.prepare: an output with no limit fails the effect instead of checking against none', async () => {
    const r = await runner({})
    const [output, context] = prepareOutput()
    await expect(jobEffects(r)['job.prepare']!({ ...output, maxDurationMs: undefined }, context)).rejects.toThrow('needs a maxDurationMs')
  })

  it('job.prepare: a check stopped by the runtime fails the effect', async () => {
    const controller = new AbortController()
    const r = await runner({ prepare: async () => { controller.abort(); throw new Error('stopped') } })
    await expect(jobEffects(r)['job.prepare']!(...prepareOutput(controller.signal))).rejects.toThrow('stopped')
  })
})
