import { createServer, type Server } from 'node:http'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { pinUrlInputs } from '../../../../src/node/jobs/url-pins.ts'
import { ResultsStore } from '../../../../src/executor/results/store.ts'
import { cidOfPath } from '../../../../src/executor/results/cid.ts'
import type { LoadedModule } from '../../../../src/executor/modules/load.ts'
import type { StorageSpec } from '../../../../src/executor/modules/model.ts'

let dir: string
let store: ResultsStore
let server: Server
let base: string

const withInputs = (...inputs: Array<Partial<StorageSpec>>): LoadedModule =>
  ({ spec: { job: { inputs: inputs.map(i => ({ storageSource: 'urlDownload', name: '', cid: '', url: '', path: '/inputs', raw: {}, ...i })) } } }) as unknown as LoadedModule

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lilypad-url-pins-'))
  store = await ResultsStore.open(dir)
  server = createServer((req, res) => {
    if (req.url === '/data/table.csv') return res.end('a,b\n1,2\n')
    if (req.url === '/big-declared') { res.setHeader('content-length', '100'); return res.end('x'.repeat(100)) }
    if (req.url === '/big-streamed') { res.write('x'.repeat(60)); return res.end('x'.repeat(60)) }
    res.statusCode = 404
    res.end()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise(resolve => server.close(resolve))
  await store.close()
  await rm(dir, { recursive: true, force: true })
})

describe('URL inputs, pinned when a job is offered', () => {
  test('are downloaded once into a folder holding the file under its URL name, kept in the blockstore, and named by that folder\'s CID', async () => {
    const url = `${base}/data/table.csv`
    const pins = JSON.parse(await pinUrlInputs(withInputs({ url }, { url, path: '/other' }), store)) as Record<string, string>
    const expected = join(dir, 'expected')
    await mkdir(expected)
    await writeFile(join(expected, 'table.csv'), 'a,b\n1,2\n')
    expect(pins).toEqual({ [url]: (await cidOfPath(expected)).toString() })
    expect(await store.has((await cidOfPath(expected)))).toBe(true)
  })

  test('none: nothing to pin', async () => {
    expect(await pinUrlInputs(withInputs({ cid: 'QmYwAPJzv5CZsnAzt8auVZRnG6VZzwBDD3Xc3w8ZvT4qJo' }), store)).toBe('')
  })

  test.each([
    ['a server that answers 404', '/missing', /could not be downloaded to pin it: the server answered 404/],
    ['more bytes than allowed, declared', '/big-declared', /holds 100 bytes, more than the 64 an input may/],
    ['more bytes than allowed, streamed', '/big-streamed', /holds more than the 64 bytes an input may/]
  ])('refuse, in one line, %s', async (_, path, message) => {
    await expect(pinUrlInputs(withInputs({ url: `${base}${path}` }), store, 64)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(message) })
  })

  test('refuse a URL that is not http or https', async () => {
    await expect(pinUrlInputs(withInputs({ url: 'file:///etc/passwd' }), store)).rejects.toMatchObject({ code: 'BAD_INPUT', message: 'the input URL file:///etc/passwd is not http or https' })
  })
})
