/**
 * Results over HTTP: a node's gateway serves the blocks it holds, a client fetches a results folder
 * block by block and keeps it only if every block and the whole folder hash to the CID, and files
 * are served by path with byte ranges.
 */
import { createServer, get, type IncomingMessage, type Server } from 'node:http'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Blockstore } from 'interface-blockstore'
import { afterEach, describe, expect, it } from 'vitest'
import { cidOfPath } from '../../../src/executor/results/cid.ts'
import { resultsGateway } from '../../../src/executor/results/gateway.ts'
import { fetchResultsOverHttp } from '../../../src/executor/results/http-fetch.ts'
import { ResultsStore } from '../../../src/executor/results/store.ts'
import { lilypad } from '../../e2e/network/cli.ts'
import { useTempDirs } from '../../support/temp-dir.ts'
import { startResultsServer } from '../../../src/node/server/results-server.ts'

const tempDir = useTempDirs()
const closers: Array<() => Promise<void>> = []
afterEach(async () => { await Promise.all(closers.splice(0).map(c => c())) })

/** 600 KB of outputs/data: three 256 KiB chunks, so the file is a DAG of several blocks */
const DATA = Buffer.from(Array.from({ length: 600_000 }, (_, i) => (i * 7 + (i >> 9)) % 251))

async function resultsFolder (): Promise<string> {
  const dir = join(await tempDir(), 'results')
  await mkdir(join(dir, 'outputs'), { recursive: true })
  await writeFile(join(dir, 'stdout'), 'hello from the job\n')
  await writeFile(join(dir, 'stderr'), '')
  await writeFile(join(dir, 'exitCode'), '0')
  await writeFile(join(dir, 'outputs', 'data'), DATA)
  return dir
}

async function serve (blockstore: Pick<Blockstore, 'get' | 'has'>): Promise<string> {
  const handle = resultsGateway(blockstore)
  const server: Server = createServer((req, res) => { void handle(req, res).then(done => { if (!done) { res.writeHead(404); res.end() } }) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()))
  closers.push(() => new Promise(resolve => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

async function holder (): Promise<{ store: ResultsStore, cid: string, url: string }> {
  const store = await ResultsStore.open(await tempDir())
  closers.push(() => store.close())
  const cid = (await store.add(await resultsFolder())).toString()
  return { store, cid, url: await serve(store.blockstore) }
}

describe('results over HTTP', () => {
  it('are fetched again block by block and kept only when they hash to their CID', async () => {
    const { cid, url } = await holder()
    const dest = join(await tempDir(), 'fetched')
    const { CID } = await import('multiformats/cid')
    await fetchResultsOverHttp(url, CID.parse(cid), dest, { maxBytes: 10_000_000 })
    expect((await cidOfPath(dest)).toString()).toBe(cid)
    expect(await readFile(join(dest, 'stdout'), 'utf8')).toBe('hello from the job\n')
    expect((await readFile(join(dest, 'outputs', 'data'))).equals(DATA)).toBe(true)
  })

  it('from a gateway that alters a block are refused, and nothing is left behind', async () => {
    const { store, cid } = await holder()
    let altered = 0
    const lying: Pick<Blockstore, 'get' | 'has'> = {
      has: async (c) => await store.blockstore.has(c),
      get: async function * (c, options) {
        const chunks: Uint8Array[] = []
        for await (const chunk of store.blockstore.get(c, options)) chunks.push(chunk)
        const block = Buffer.concat(chunks)
        // the first large block (a chunk of outputs/data) comes back with one byte changed
        if (block.length > 100_000 && altered++ === 0) block[0] = block[0]! ^ 1
        yield block
      }
    }
    const url = await serve(lying)
    const dest = join(await tempDir(), 'fetched')
    const { CID } = await import('multiformats/cid')
    await expect(fetchResultsOverHttp(url, CID.parse(cid), dest, { maxBytes: 10_000_000 })).rejects.toMatchObject({ code: 'RESULTS_FETCH_FAILED', message: expect.stringMatching(/sent a block that does not hash to \S+: refusing it$/) })
    expect(altered).toBeGreaterThan(0)
    await expect(readFile(join(dest, 'stdout'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('serve a file by path, whole or by byte range, and say what they do not hold', async () => {
    const { cid, url } = await holder()
    const whole = await fetch(`${url}/ipfs/${cid}/outputs/data`)
    expect(whole.status).toBe(200)
    expect(whole.headers.get('accept-ranges')).toBe('bytes')
    expect(Buffer.from(await whole.arrayBuffer()).equals(DATA)).toBe(true)

    const middle = await fetch(`${url}/ipfs/${cid}/outputs/data`, { headers: { range: 'bytes=262000-262999' } })
    expect(middle.status).toBe(206)
    expect(middle.headers.get('content-range')).toBe(`bytes 262000-262999/${DATA.length}`)
    expect(Buffer.from(await middle.arrayBuffer()).equals(DATA.subarray(262_000, 263_000))).toBe(true)
    const tail = await fetch(`${url}/ipfs/${cid}/outputs/data`, { headers: { range: 'bytes=-10' } })
    expect(Buffer.from(await tail.arrayBuffer()).equals(DATA.subarray(DATA.length - 10))).toBe(true)
    expect((await fetch(`${url}/ipfs/${cid}/outputs/data`, { headers: { range: `bytes=${DATA.length}-` } })).status).toBe(416)

    expect(await (await fetch(`${url}/ipfs/${cid}`)).json()).toEqual({ cid, entries: ['exitCode', 'outputs', 'stderr', 'stdout'] })
    expect((await fetch(`${url}/ipfs/${cid}/nothing-here`)).status).toBe(404)
    const unknown = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
    expect((await fetch(`${url}/ipfs/${unknown}?format=raw`)).status).toBe(404)
    expect((await fetch(`${url}/ipfs/not-a-cid`)).status).toBe(400)
  })

  it('`lilypad results get` fetches and verifies them, and explains a failure in one line', async () => {
    const { cid, url } = await holder()
    const out = join(await tempDir(), 'out')
    const got = await lilypad(['results', 'get', cid, '--from', url, '--out', out])
    expect(got.code).toBe(0)
    expect(got.stdout).toBe(`${out}\n`)
    expect(got.stderr).toMatch(new RegExp(`^results ${cid} fetched from ${url} and verified in \\d+ ms\\n$`))
    expect((await cidOfPath(out)).toString()).toBe(cid)

    const refused = await lilypad(['results', 'get', cid, '--from', url, '--out', join(await tempDir(), 'small'), '--max-bytes', '1000'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe(`lilypad results get: results ${cid} are larger than the 1000-byte limit\n`)
    const nobody = await lilypad(['results', 'get', cid, '--from', 'http://127.0.0.1:9', '--out', join(await tempDir(), 'none')])
    expect(nobody.code).toBe(1)
    expect(nobody.stderr).toMatch(/^lilypad results get: no results gateway answers at http:\/\/127\.0\.0\.1:9: /)
  }, 60_000)
})

describe('the node\'s results gateway', () => {
  it('serves a bounded number of requests at once per client: one more is told 429 at once, and served once the first is done', async () => {
    const dir = join(await tempDir(), 'big')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'data'), Buffer.alloc(32 * 1024 * 1024, 7))
    const store = await ResultsStore.open(await tempDir())
    closers.push(() => store.close())
    const cid = (await store.add(dir)).toString()
    const { server, url } = await startResultsServer(store, 0, '127.0.0.1', { perClient: 1, total: 4 })
    closers.push(() => new Promise(resolve => server.close(() => resolve())))

    // a client that asks and does not read holds its one place
    const held = await new Promise<IncomingMessage>((resolve, reject) => get(`${url}/ipfs/${cid}/data`, resolve).on('error', reject))
    held.pause()
    expect(held.statusCode).toBe(200)
    const busy = await fetch(`${url}/ipfs/${cid}/data`, { headers: { range: 'bytes=0-9' } })
    expect(busy.status).toBe(429)
    expect(busy.headers.get('retry-after')).toBe('1')
    expect(await busy.json()).toEqual({ error: 'busy: at most 1 requests at once per client, 4 in all' })

    held.destroy()
    // the gateway frees the place when it sees the connection close, a moment after the client does
    let served = busy
    for (let i = 0; i < 100 && served.status === 429; i++) served = await fetch(`${url}/ipfs/${cid}/data`, { headers: { range: 'bytes=0-9' } })
    expect(served.status).toBe(206)
    expect(Buffer.from(await served.arrayBuffer())).toEqual(Buffer.alloc(10, 7))
  }, 60_000)
})
