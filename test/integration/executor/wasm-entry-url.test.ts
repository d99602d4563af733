// A WASM entry module named by URL and CID, fetched from a real HTTP server on this machine.
import { createServer, type Server } from 'node:http'
import { type AddressInfo } from 'node:net'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCowsayWasm } from '../../../scripts/build-cowsay-wasm.ts'
import { parseModuleSpec } from '../../../src/executor/modules/model.ts'
import { cidOfBytes } from '../../../src/executor/results/cid.ts'
import { failureCode } from '../../../src/executor/results/failed-run.ts'
import { resolveEntryModule } from '../../../src/executor/wasm/entry-module.ts'
import { WasmExecutor } from '../../../src/executor/wasm/executor.ts'
import { wasmJobFromModule } from '../../../src/executor/wasm/from-module.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
let server: Server
let base: string
let wasm: Uint8Array
let cid: string
const OTHER_CID = 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN'

beforeAll(async () => {
  wasm = await buildCowsayWasm()
  cid = (await cidOfBytes(wasm)).toString()
  server = createServer((req, res) => {
    if (req.url === '/cowsay.wasm') res.end(wasm)
    else if (req.url === '/moved') res.writeHead(302, { location: '/cowsay.wasm' }).end()
    else if (req.url === '/endless') {
      const chunk = Buffer.alloc(64 * 1024)
      const more = (): void => { while (res.write(chunk)); }
      res.on('drain', more)
      more()
    } else res.writeHead(404).end()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

const http = { urlSchemes: ['http'] }

describe('a WASM entry module by URL', () => {
  it('is fetched, checked against its CID, and runs', async () => {
    expect(await resolveEntryModule({ StorageSource: 'URLDownload', URL: `${base}/cowsay.wasm`, CID: cid }, http)).toEqual(wasm)
    const spec = parseModuleSpec({
      machine: { gpu: 0, cpu: 1000, ram: 100 },
      job: { APIVersion: 'V1beta1', Spec: { Engine: 'Wasm', Timeout: 30, Wasm: { EntryModule: { StorageSource: 'URLDownload', URL: `${base}/cowsay.wasm`, CID: cid }, EntryPoint: '_start', Parameters: ['moo'] } } }
    })
    const resultsDir = join(await tempDir(), 'results')
    const job = await wasmJobFromModule(spec.job, { jobId: 'by-url', resultsDir }, http)
    const result = await new WasmExecutor().run(job)
    expect(result.exitCode).toBe(0)
    expect(await readFile(join(resultsDir, 'stdout'), 'utf8')).toContain('< moo >')
  })

  it('is refused when its bytes are not the CID the spec names, or the spec names no CID', async () => {
    const wrong = await resolveEntryModule({ StorageSource: 'URLDownload', URL: `${base}/cowsay.wasm`, CID: OTHER_CID }, http).catch((e: unknown) => e)
    expect(wrong).toMatchObject({ code: 'WASM_MODULE_NOT_FOUND', message: `the entry module at ${base}/cowsay.wasm is ${cid}, not the ${OTHER_CID} the spec names` })
    expect(failureCode(wrong)).toBe('ERR_MODULE_UNAVAILABLE')
    const unpinned = await resolveEntryModule({ StorageSource: 'URLDownload', URL: `${base}/cowsay.wasm` }, http).catch((e: unknown) => e)
    expect(unpinned).toMatchObject({ code: 'BAD_JOB_SPEC', message: `the entry module at ${base}/cowsay.wasm names no CID: a job must pin the bytes it runs, not only where they are` })
  })

  it('is fetched only over https unless told otherwise, and never through a redirect', async () => {
    await expect(resolveEntryModule({ StorageSource: 'URLDownload', URL: `${base}/cowsay.wasm`, CID: cid }))
      .rejects.toMatchObject({ code: 'BAD_JOB_SPEC', message: `the entry module URL ${base}/cowsay.wasm is http; entry modules are fetched only by https` })
    await expect(resolveEntryModule({ StorageSource: 'URLDownload', URL: `${base}/moved`, CID: cid }, http))
      .rejects.toMatchObject({ code: 'WASM_MODULE_NOT_FOUND', message: expect.stringMatching(/^cannot fetch the entry module at .*\/moved: /) as string })
    await expect(resolveEntryModule({ StorageSource: 'URLDownload', URL: `${base}/missing`, CID: cid }, http))
      .rejects.toMatchObject({ code: 'WASM_MODULE_NOT_FOUND', message: `cannot fetch the entry module at ${base}/missing: HTTP 404` })
  })

  it('stops reading a body past the size cap', async () => {
    const started = Date.now()
    await expect(resolveEntryModule({ StorageSource: 'URLDownload', URL: `${base}/endless`, CID: cid }, { ...http, maxBytes: 1024 * 1024 }))
      .rejects.toMatchObject({ code: 'WASM_MODULE_NOT_FOUND', message: `the entry module at ${base}/endless is larger than the 1048576-byte limit` })
    expect(Date.now() - started).toBeLessThan(10_000)
  })
})
