import { createServer, type Server } from 'node:http'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { bringInputs, jobInputs, OFFERED_INPUTS_PATH } from '../../../../src/node/adapters/job-inputs.ts'
import type { StorageSpec } from '../../../../src/executor/modules/model.ts'
import { ResultsStore } from '../../../../src/executor/results/store.ts'

const CID = 'QmYwAPJzv5CZsnAzt8auVZRnG6VZzwBDD3Xc3w8ZvT4qJo'
const OTHER = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'
const input = (s: Partial<StorageSpec>): StorageSpec => ({ storageSource: 'IPFS', name: '', cid: CID, url: '', path: '/inputs', raw: {}, ...s })
const refused = (inputsCid: string, inputs: StorageSpec[]): unknown => {
  try {
    jobInputs({ inputsCid, urlPins: '' }, { inputs })
  } catch (err) {
    return { code: (err as { code?: string }).code, message: (err as Error).message }
  }
  return 'taken'
}

describe('a job\'s input data', () => {
  test('is each spec input at its path, and the offer\'s own CID at /inputs', () => {
    expect(jobInputs({ inputsCid: OTHER, urlPins: '' }, { inputs: [input({ path: '/data/target.pdb' })] }))
      .toEqual([{ cid: CID, target: '/data/target.pdb' }, { cid: OTHER, target: OFFERED_INPUTS_PATH }])
    expect(jobInputs({ inputsCid: '', urlPins: '' }, { inputs: [] })).toEqual([])
  })

  test('named by URL, is the folder the job offer pins for that URL; unpinned, or named by nothing, it is refused', () => {
    const url = 'https://example.com/x.csv'
    expect(jobInputs({ inputsCid: '', urlPins: JSON.stringify({ [url]: OTHER }) }, { inputs: [input({ cid: '', url, path: '/data' })] })).toEqual([{ cid: OTHER, target: '/data', url }])
    expect(refused('', [input({ cid: '', url })])).toMatchObject({ code: 'ERR_INPUTS_INVALID', message: expect.stringContaining('is named by URL (https://example.com/x.csv), and the job offer pins no content for it') })
    expect(() => jobInputs({ inputsCid: '', urlPins: '[1]' }, { inputs: [] })).toThrow('the job offer\'s URL pins are not a JSON object of URLs to CIDs')
    expect(refused('', [input({ cid: '' })])).toMatchObject({ code: 'ERR_INPUTS_INVALID', message: expect.stringContaining('names neither a CID nor a URL') })
    expect(refused('', [input({ cid: 'not-a-cid' })])).toMatchObject({ code: 'ERR_INPUTS_INVALID', message: 'input "not-a-cid" is not a CID' })
  })

  test.each([
    ['relative', 'data'], ['not normal', '/data/../etc'], ['the root', '/'], ['the outputs', '/outputs'], ['inside the outputs', '/outputs/in'],
    ['the scratch space', '/tmp'], ['the engine\'s own', '/proc/self'], ['a trailing slash', '/data/']
  ])('at a path that is %s is refused', (_, path) => {
    expect(refused('', [input({ path })])).toMatchObject({ code: 'ERR_INPUTS_INVALID' })
  })

  test('overlapping another input is refused, the offer\'s own included', () => {
    expect(refused(OTHER, [input({ path: '/inputs/a.txt' })])).toMatchObject({ code: 'ERR_INPUTS_INVALID', message: expect.stringContaining('overlaps another input') })
    expect(refused('', [input({ path: '/data' }), input({ path: '/data', cid: OTHER })])).toMatchObject({ code: 'ERR_INPUTS_INVALID' })
  })
})

describe('a URL input no peer has', () => {
  let server: Server
  let base: string
  let served = 'rows,1\n'
  let store: ResultsStore
  let root: string
  let pinned: string

  beforeAll(async () => {
    server = createServer((_req, res) => { res.end(served) })
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    root = await mkdtemp(join(tmpdir(), 'url-input-'))
    store = await ResultsStore.open(join(root, 'creator'))
    // pinned as the creator pins it: a folder holding the download under the URL's last segment
    const folder = join(root, 'pin')
    await mkdir(folder)
    await writeFile(join(folder, 'table.csv'), served)
    pinned = (await store.add(folder)).toString()
  })
  const stores: ResultsStore[] = []
  afterAll(async () => {
    await new Promise(resolve => server.close(resolve))
    for (const s of [store, ...stores]) await s.close()
  })

  const source = async (name: string) => {
    const provider = await ResultsStore.open(join(root, name))
    stores.push(provider)
    return {
      fetcher: { fetch: async () => false },
      dirOf: (n: string) => join(root, name, 'downloads', n),
      blockstore: provider.blockstore,
      add: async (dir: string) => await provider.add(dir)
    }
  }

  test('is downloaded from its URL and mounted when it hashes to the pin; when the URL serves other bytes, the job cannot run', async () => {
    const inputs = [{ cid: pinned, target: '/data', url: `${base}/files/table.csv` }]
    const signal = new AbortController().signal
    const brought = await bringInputs(inputs, await source('provider'), { from: '0x00', runId: 'r1', signal })
    expect(brought.mounts).toHaveLength(1)
    expect(await readFile(join(brought.mounts[0]!.source, 'table.csv'), 'utf8')).toBe('rows,1\n')
    await brought.release()

    served = 'rows,2\n'
    await expect(bringInputs(inputs, await source('provider-2'), { from: '0x00', runId: 'r2', signal }))
      .rejects.toMatchObject({ code: 'ERR_INPUTS_UNAVAILABLE', message: expect.stringContaining('now serves other bytes') })
    await expect(bringInputs([{ cid: pinned, target: '/data' }], await source('provider-3'), { from: '0x00', runId: 'r3', signal }))
      .rejects.toMatchObject({ code: 'ERR_INPUTS_UNAVAILABLE', message: expect.stringContaining('could not be fetched from the job creator or a peer') })
  })
})

