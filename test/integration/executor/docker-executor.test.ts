import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import Docker from 'dockerode'
import { beforeAll, describe, expect, it } from 'vitest'
import { DockerExecutor } from '../../../src/executor/docker/executor.ts'
import type { DockerJob } from '../../../src/executor/docker/job.ts'
import { cidOfPath } from '../../../src/executor/results/cid.ts'
import { ensureCowsayImage } from '../../support/modules.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const executor = new DockerExecutor({ stdoutLimitBytes: 64 * 1024 })
let image: string
let counter = 0

beforeAll(async () => {
  // no skip: CI always runs an engine, so a missing one is a failure with a clear message
  await executor.ping()
  image = await ensureCowsayImage()
})

async function job (script: string, extra: Partial<DockerJob> = {}): Promise<DockerJob> {
  return {
    jobId: `test-${process.pid}-${Date.now()}-${counter++}`,
    image,
    entrypoint: ['/bin/sh', '-c', script],
    timeoutMs: 20_000,
    resultsDir: join(await tempDir(), 'results'),
    resources: { memoryBytes: 64 * 1024 * 1024, pids: 64, cpuMilli: 1000 },
    ...extra
  }
}

const read = (dir: string, name: string): Promise<string> => readFile(join(dir, name), 'utf8')

async function expectNoContainer (jobId: string): Promise<void> {
  expect((await executor.list()).map(c => c.jobId)).not.toContain(jobId)
}

/** After each hostile job: a plain job still runs and its container is gone. */
async function expectStillWorks (): Promise<void> {
  const j = await job('echo still here')
  const r = await executor.run(j)
  expect(r.exitCode).toBe(0)
  expect(await read(j.resultsDir, 'stdout')).toBe('still here\n')
  await expectNoContainer(j.jobId)
}

describe('Docker executor', () => {
  it('captures stdout, stderr, the exit code and /outputs in Bacalhau\'s layout', async () => {
    const j = await job('echo out; echo err >&2; echo data > /outputs/result.txt; exit 3')
    const r = await executor.run(j)
    expect(r).toMatchObject({ exitCode: 3, timedOut: false, oomKilled: false, recovered: false })
    expect(await read(j.resultsDir, 'stdout')).toBe('out\n')
    expect(await read(j.resultsDir, 'stderr')).toBe('err\n')
    expect(await read(j.resultsDir, 'exitCode')).toBe('3')
    expect(await read(join(j.resultsDir, 'outputs'), 'result.txt')).toBe('data\n')
    expect((await readdir(j.resultsDir)).sort()).toEqual(['exitCode', 'outputs', 'stderr', 'stdout'])
    expect((await cidOfPath(j.resultsDir)).toString()).toMatch(/^Qm/)
    await expectNoContainer(j.jobId)
  })

  it('runs the cowsay entrypoint with its argument', async () => {
    const j = await job('', { entrypoint: ['/usr/local/bin/cowsay', 'moo'] })
    const r = await executor.run(j)
    expect(r.exitCode).toBe(0)
    expect(await read(j.resultsDir, 'stdout')).toContain('< moo >')
    expect(await read(join(j.resultsDir, 'outputs'), 'cow.txt')).toContain('(oo)')
  })

  it('keeps only the first bytes of an oversized stdout', async () => {
    const j = await job('yes 0123456789 | head -c 1000000')
    const r = await executor.run(j)
    expect(r.exitCode).toBe(0)
    expect(r.stdoutTruncated).toBe(true)
    expect((await stat(join(j.resultsDir, 'stdout'))).size).toBe(64 * 1024)
    expect((await read(j.resultsDir, 'stdout')).startsWith('0123456789\n0123456789\n')).toBe(true)
  })

  it('a flood of 30 MB on stdout and stderr comes out the same on every run: the first bytes of each, whole, at once', async () => {
    const flooder = new DockerExecutor({ stdoutLimitBytes: 10 * 1024 * 1024, stderrLimitBytes: 1024 * 1024 })
    const runs: Array<{ stdout: Buffer, stderr: Buffer, cid: string, ms: number }> = []
    for (let i = 0; i < 2; i++) {
      // short lines, interleaved: the log driver's worst case
      const j = await job('(yes flood | head -c 20000000) & (yes warn | head -c 10000000 >&2) & wait; echo done', { timeoutMs: 120_000 })
      const started = Date.now()
      const r = await flooder.run(j)
      const ms = Date.now() - started
      expect(r).toMatchObject({ exitCode: 0, stdoutTruncated: true, stderrTruncated: true })
      runs.push({ stdout: await readFile(join(j.resultsDir, 'stdout')), stderr: await readFile(join(j.resultsDir, 'stderr')), cid: (await cidOfPath(j.resultsDir)).toString(), ms })
    }
    for (const run of runs) {
      expect(run.stdout.length).toBe(10 * 1024 * 1024)
      expect(run.stderr.length).toBe(1024 * 1024)
      expect(run.stdout.subarray(0, 12).toString()).toBe('flood\nflood\n')
      expect(run.stderr.subarray(0, 10).toString()).toBe('warn\nwarn\n')
    }
    expect(runs[1]!.cid).toBe(runs[0]!.cid)
    console.log(`30 MB flood: ${runs.map(r => r.ms).join(' ms, ')} ms`)
  }, 300_000)

  it('kills a memory hog at its memory limit', async () => {
    // tail buffers a whole "line", and /dev/zero has no newline
    const j = await job('head -c 400m /dev/zero | tail; echo survived', { resources: { memoryBytes: 32 * 1024 * 1024, pids: 64 } })
    const r = await executor.run(j)
    expect(r.oomKilled).toBe(true)
    expect(r.timedOut).toBe(false)
    await expectStillWorks()
  })

  it('caps the number of processes at the pid limit', async () => {
    // the inner shell dies at its first failed fork; the outer one counts what is left with a builtin glob
    const j = await job('sh -c "i=0; while [ \\$i -lt 60 ]; do sleep 30 & i=\\$((i+1)); done"; set -- /proc/[0-9]*; echo $#', { resources: { pids: 16 } })
    const r = await executor.run(j)
    expect(r.exitCode).toBe(0)
    const running = Number((await read(j.resultsDir, 'stdout')).trim())
    expect(running).toBeGreaterThan(1)
    expect(running).toBeLessThanOrEqual(16)
    expect(await read(j.resultsDir, 'stderr')).toMatch(/can't fork|Resource temporarily unavailable/)
    await expectStillWorks()
  })

  it('contains a fork bomb and kills it at its timeout', async () => {
    const j = await job('bomb() { bomb | bomb & }; bomb; sleep 60', { resources: { pids: 32 }, timeoutMs: 2_000 })
    const started = Date.now()
    const r = await executor.run(j)
    expect(r.timedOut).toBe(true)
    expect(Date.now() - started).toBeLessThan(15_000)
    await expectNoContainer(j.jobId)
    await expectStillWorks()
  })

  it('kills an endless loop at its timeout and removes the container', async () => {
    const j = await job('while :; do :; done', { timeoutMs: 1_500 })
    const started = Date.now()
    const r = await executor.run(j)
    expect(r).toMatchObject({ timedOut: true, exitCode: 137 })
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400)
    expect(Date.now() - started).toBeLessThan(10_000)
    await expectNoContainer(j.jobId)
    await expectStillWorks()
  })

  it('gives the job no network: only the loopback interface and no routes', async () => {
    const j = await job('ls /sys/class/net; echo ---; tail -n +2 /proc/net/route; echo ---; cat /etc/resolv.conf 2>/dev/null | grep -c nameserver || true')
    const r = await executor.run(j)
    expect(r.exitCode).toBe(0)
    const [ifaces, routes] = (await read(j.resultsDir, 'stdout')).split('---\n')
    expect(ifaces!.trim().split(/\s+/)).toEqual(['lo'])
    expect(routes!.trim()).toBe('')
    await expectStillWorks()
  })

  it('runs without privileges: read-only root, no capabilities, no new privileges, writable /tmp', async () => {
    const j = await job('touch /rootfile 2>/dev/null && echo root-writable; echo x > /tmp/t && echo tmp-ok; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status')
    const r = await executor.run(j)
    expect(r.exitCode).toBe(0)
    const out = await read(j.resultsDir, 'stdout')
    expect(out).not.toContain('root-writable')
    expect(out).toContain('tmp-ok')
    expect(out).toMatch(/CapEff:\s+0000000000000000/)
    expect(out).toMatch(/NoNewPrivs:\s+1/)
  })

  it('cancels a running job through its AbortSignal', async () => {
    const j = await job('sleep 60')
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 500)
    await expect(executor.run(j, controller.signal)).rejects.toMatchObject({ code: 'EXECUTION_CANCELLED' })
    await expectNoContainer(j.jobId)
  })

  it('reattaches to a job\'s container after a restart, and then returns its finished results', async () => {
    const j = await job('echo early; sleep 1; echo late; exit 7')
    await new DockerExecutor().start(j)
    expect((await executor.list()).find(c => c.jobId === j.jobId)?.running).toBe(true)
    const restarted = new DockerExecutor()
    const [a, b] = await Promise.all([restarted.run(j), restarted.run(j)])
    expect(a).toBe(b)
    expect(a).toMatchObject({ exitCode: 7, recovered: false })
    expect(await read(j.resultsDir, 'stdout')).toBe('early\nlate\n')
    await expectNoContainer(j.jobId)
    const again = await new DockerExecutor().run(j)
    expect(again).toMatchObject({ exitCode: 7, recovered: true })
    expect(await read(j.resultsDir, 'stdout')).toBe('early\nlate\n')
  })

  it('refuses unpinned images and explains missing ones', async () => {
    await expect(executor.run(await job('true', { image: 'busybox:latest' }))).rejects.toMatchObject({ code: 'IMAGE_NOT_PINNED' })
    await expect(executor.run(await job('true', { image: `sha256:${'0'.repeat(64)}` }))).rejects.toMatchObject({ code: 'IMAGE_NOT_FOUND' })
    // a registry on a closed loopback port: the pull is attempted and fails with a clear error
    await expect(executor.run(await job('true', { image: `localhost:1/none@sha256:${'0'.repeat(64)}` })))
      .rejects.toMatchObject({ code: 'IMAGE_PULL_FAILED', message: expect.stringContaining('could not be pulled') })
  })

  it('says clearly when no Docker engine answers', async () => {
    const none = new DockerExecutor({ docker: new Docker({ socketPath: '/nonexistent/docker.sock' }) })
    await expect(none.ping()).rejects.toMatchObject({ code: 'DOCKER_UNAVAILABLE', message: expect.stringContaining('no Docker engine answers') })
  })
})
