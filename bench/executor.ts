// npm run bench -- executor: the Docker executor's overhead over a bare `docker run`, and CID hashing throughput.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DockerExecutor } from '../src/executor/docker/executor.ts'
import { cidOfBytes } from '../src/executor/results/cid.ts'
import { ensureCowsayImage } from '../test/support/modules.ts'
import { report, round } from './report.ts'

const exec = promisify(execFile)
const ROUNDS = 9

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

async function dockerOverhead (): Promise<void> {
  const executor = new DockerExecutor()
  await executor.ping()
  const image = await ensureCowsayImage()
  const work = await mkdtemp(join(tmpdir(), 'lilypad-bench-executor-'))
  const command = ['/usr/local/bin/cowsay', 'moo']
  const bare = async (): Promise<number> => {
    const t = performance.now()
    await exec('docker', ['run', '--rm', '--network', 'none', '--entrypoint', command[0]!, image, ...command.slice(1)])
    return performance.now() - t
  }
  let n = 0
  const ours = async (): Promise<number> => {
    const t = performance.now()
    const r = await executor.run({ jobId: `bench-${process.pid}-${n++}`, image, entrypoint: command, timeoutMs: 60_000, resultsDir: join(work, String(n)) })
    if (r.exitCode !== 0) throw new Error(`bench job exited ${r.exitCode}`)
    return performance.now() - t
  }
  try {
    await bare(); await ours() // warm caches
    const bareTimes: number[] = []
    const ourTimes: number[] = []
    for (let i = 0; i < ROUNDS; i++) { // interleaved so load on the machine hits both alike
      bareTimes.push(await bare())
      ourTimes.push(await ours())
    }
    const value = median(ourTimes)
    const baseline = median(bareTimes)
    report({ bench: 'executor', metric: 'docker_overhead_ratio', value: round(value / baseline), unit: 'ratio', goal: '<=1.15', executor_ms: round(value), baseline: round(baseline), ratio: round(value / baseline), rounds: ROUNDS, note: 'median wall time of DockerExecutor.run vs `docker run --rm --network none` of the same image and command' })
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

async function cidThroughput (): Promise<void> {
  const bytes = new Uint8Array(64 * 1024 * 1024)
  for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff
  await cidOfBytes(bytes.subarray(0, 1 << 20)) // warm up
  let t = performance.now()
  await cidOfBytes(bytes)
  const cidSeconds = (performance.now() - t) / 1000
  t = performance.now()
  createHash('sha256').update(bytes).digest()
  const shaSeconds = (performance.now() - t) / 1000
  const mb = bytes.length / 1e6
  report({ bench: 'executor', metric: 'cid_mb_per_s', value: round(mb / cidSeconds), unit: 'MB/s', baseline: round(mb / shaSeconds), ratio: round(shaSeconds / cidSeconds), note: 'ipfs-add CID (unixfs-v0-2015) of 64 MiB in memory; baseline: one plain sha256 pass over the same bytes' })
}

export async function run (): Promise<void> {
  await cidThroughput()
  await dockerOverhead()
}
