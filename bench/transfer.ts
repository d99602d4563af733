// npm run bench -- transfer: how fast a job's data moves. Input data (and results) fetched by CID
// over libp2p (TCP, noise, yamux) between two nodes' ResultsExchange, each block verified, against
// the same bytes over a plain loopback TCP socket; and an image pulled by digest from a registry on
// loopback through the provider's executor (DockerExecutor.ensureImage, with its size cap and
// progress), against `docker pull` of the same image as a process. TRANSFER_MB sets the size
// (default 64). The image figures need Docker and Debian's docker-registry; without them they are
// skipped with a line on stderr.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { DockerExecutor } from '../src/executor/docker/executor.ts'
import { ResultsExchange } from '../src/executor/results/exchange.ts'
import { ResultsStore } from '../src/executor/results/store.ts'
import { forgetImages, startRegistry } from '../test/support/registry.ts'
import { report, round } from './report.ts'

const exec = promisify(execFile)
const MB = Number(process.env.TRANSFER_MB ?? 64)
const BYTES = MB * 1024 * 1024

export async function run (): Promise<void> {
  await inputTransfer()
  await imagePull().catch((err: Error) => { process.stderr.write(`bench transfer: image pull skipped: ${err.message.split('\n')[0]}\n`) })
}

async function inputTransfer (): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'bench-transfer-'))
  const peers: Array<{ stop: () => Promise<void>, exchange: ResultsExchange, store: ResultsStore, libp2p: Awaited<ReturnType<typeof createLibp2p>> }> = []
  try {
    for (const name of ['creator', 'provider']) {
      const libp2p = await createLibp2p({ addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], services: { identify: identify() } })
      const store = await ResultsStore.open(join(root, name))
      const exchange = new ResultsExchange(libp2p, store, { timeoutMs: 600_000 })
      await exchange.start()
      peers.push({ exchange, store, libp2p, stop: async () => { await exchange.stop(); await libp2p.stop(); await store.close() } })
    }
    const [creator, provider] = peers as [typeof peers[number], typeof peers[number]]
    const folder = join(root, 'inputs')
    await mkdir(folder)
    // random bytes: no block repeats, so every one crosses the wire
    const data = randomBytes(BYTES)
    await writeFile(join(folder, 'data.bin'), data)
    const cid = await creator.store.add(folder)
    const started = performance.now()
    // as a node fetches: from the peer that holds them, asked alone first
    await provider.exchange.fetch(cid, { dealId: 'bench-inputs', from: creator.libp2p.getMultiaddrs(), holder: creator.libp2p.peerId, maxBytes: BYTES * 2 })
    const seconds = (performance.now() - started) / 1000
    const tcpSeconds = await plainTcp(data)
    report({ bench: 'transfer', metric: 'input_fetch_mb_per_s', value: round(MB / seconds), unit: 'MB/s', baseline: round(MB / tcpSeconds), ratio: round(tcpSeconds / seconds), mb: MB, seconds: round(seconds), note: 'a folder fetched by CID over libp2p (tcp, noise, yamux), every block verified and exported to disk; baseline: the same bytes over a plain loopback TCP socket' })
  } finally {
    for (const p of peers) await p.stop()
    await rm(root, { recursive: true, force: true })
  }
}

/** Seconds to send `data` through a loopback TCP socket and read it all at the other end. */
async function plainTcp (data: Buffer): Promise<number> {
  let received = 0
  const done = new Promise<void>((resolve) => {
    const server = createServer(socket => {
      socket.on('data', (chunk: Buffer) => { received += chunk.length })
      socket.on('end', () => { server.close(); resolve() })
    })
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      const client = connect(port, '127.0.0.1', () => { client.end(data) })
    })
  })
  const started = performance.now()
  await done
  if (received !== data.length) throw new Error(`the plain socket carried ${received} of ${data.length} bytes`)
  return (performance.now() - started) / 1000
}

async function imagePull (): Promise<void> {
  const registry = await startRegistry()
  const name = `${registry.host}/bench/transfer`
  const root = await mkdtemp(join(tmpdir(), 'bench-image-'))
  try {
    await mkdir(join(root, 'bin'))
    await copyFile('/bin/busybox', join(root, 'bin', 'busybox'))
    await chmod(join(root, 'bin', 'busybox'), 0o755)
    await writeFile(join(root, 'data.bin'), randomBytes(BYTES))
    await exec('sh', ['-c', `tar -C '${root}' -c . | docker import - '${name}:v1'`])
    const { stdout } = await exec('docker', ['push', `${name}:v1`])
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(stdout)?.[1]
    if (digest === undefined) throw new Error(`docker push printed no digest: ${stdout}`)
    const ref = `${name}@${digest}`
    await forgetImages(name)
    let progressLines = 0
    const executor = new DockerExecutor({ onPullProgress: () => { progressLines++ } })
    const started = performance.now()
    await executor.ensureImage(ref)
    const seconds = (performance.now() - started) / 1000
    await forgetImages(name)
    const cliStarted = performance.now()
    await exec('docker', ['pull', ref])
    const cliSeconds = (performance.now() - cliStarted) / 1000
    await forgetImages(name)
    report({ bench: 'transfer', metric: 'image_pull_mb_per_s', value: round(MB / seconds), unit: 'MB/s', baseline: round(MB / cliSeconds), ratio: round(cliSeconds / seconds), mb: MB, seconds: round(seconds), progress_reports: progressLines, note: 'an image pinned by digest pulled from a registry on loopback through the provider\'s executor (size cap, progress); baseline: `docker pull` of the same image as a process' })
  } finally {
    await forgetImages(name).catch(() => undefined)
    await registry.stop()
    await rm(root, { recursive: true, force: true })
  }
}
