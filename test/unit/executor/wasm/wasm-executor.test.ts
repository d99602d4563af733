import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cidOfBytes } from '../../../../src/executor/results/cid.ts'
import { resolveEntryModule } from '../../../../src/executor/wasm/entry-module.ts'
import { WasmExecutor } from '../../../../src/executor/wasm/executor.ts'
import { buildCowsayWasm, compileWat } from '../../../../scripts/build-cowsay-wasm.ts'
import { createCowsayWasmRepo, MODULES_DIR } from '../../../support/modules.ts'
import { useTempDirs } from '../../../support/temp-dir.ts'
import { writeFile } from 'node:fs/promises'

const tempDir = useTempDirs()
const executor = new WasmExecutor({ stdoutLimitBytes: 4096 })

async function wat (source: string): Promise<Uint8Array> {
  const path = join(await tempDir(), 'm.wat')
  await writeFile(path, source)
  return compileWat(path)
}

const PRINT_ENV_AND_TIME = `(module
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; environment strings at 1024 (pointers at 512), then 8 bytes of clock and 8 of randomness
    (drop (call $env_sizes (i32.const 16) (i32.const 20)))
    (drop (call $env_get (i32.const 512) (i32.const 1024)))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 2048)))
    (drop (call $random (i32.const 2056) (i32.const 8)))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.load (i32.const 20)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 0) (i32.const 2048))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))`

describe('WASM executor', () => {
  it('runs cowsay built from source: arguments in, stdout and /outputs out', async () => {
    const resultsDir = join(await tempDir(), 'results')
    const r = await executor.run({ jobId: 'cow', wasm: await buildCowsayWasm(), programName: 'cowsay.wasm', args: ['moo', 'there'], timeoutMs: 10_000, resultsDir })
    expect(r).toMatchObject({ exitCode: 0, timedOut: false, recovered: false })
    const stdout = await readFile(join(resultsDir, 'stdout'), 'utf8')
    expect(stdout).toBe([
      ' ___________', '< moo there >', ' -----------',
      '        \\   ^__^', '         \\  (oo)\\_______', '            (__)\\       )\\/\\',
      '                ||----w |', '                ||     ||', ''
    ].join('\n'))
    expect(await readFile(join(resultsDir, 'outputs', 'cow.txt'), 'utf8')).toBe(stdout)
    expect((await readdir(resultsDir)).sort()).toEqual(['exitCode', 'outputs', 'stderr', 'stdout'])
    expect(await readFile(join(resultsDir, 'exitCode'), 'utf8')).toBe('0')
  })

  it('passes the environment, and fixes the clock and randomness so runs repeat exactly', async () => {
    const wasm = await wat(PRINT_ENV_AND_TIME)
    const outs: string[] = []
    for (const n of [1, 2]) {
      const resultsDir = join(await tempDir(), `r${n}`)
      await executor.run({ jobId: `env${n}`, wasm, env: { GREETING: 'hi' }, timeoutMs: 10_000, resultsDir })
      expect(await readFile(join(resultsDir, 'stdout'), 'utf8')).toBe('GREETING=hi\0')
      const stderr = await readFile(join(resultsDir, 'stderr'))
      expect(stderr.subarray(0, 8)).toEqual(Buffer.alloc(8))
      outs.push(stderr.toString('hex'))
    }
    expect(outs[0]).toBe(outs[1])
  })

  it('terminates a module that loops forever at its time limit', async () => {
    const wasm = await wat('(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))')
    const started = Date.now()
    const r = await executor.run({ jobId: 'loop', wasm, timeoutMs: 500, resultsDir: join(await tempDir(), 'r') })
    expect(r).toMatchObject({ timedOut: true, exitCode: 137 })
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('reports a module\'s own exit code, and truncates oversized output', async () => {
    const wasm = await wat(`(module
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (local $i i32)
        (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 1000))
        (loop $l (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))
        (call $exit (i32.const 42))))`)
    const resultsDir = join(await tempDir(), 'r')
    const r = await executor.run({ jobId: 'exit', wasm, timeoutMs: 10_000, resultsDir })
    expect(r).toMatchObject({ exitCode: 42, stdoutTruncated: true })
    expect((await readFile(join(resultsDir, 'stdout'))).length).toBe(4096)
  })

  it('rejects bytes that are not WebAssembly and entry points other than _start', async () => {
    const resultsDir = join(await tempDir(), 'r')
    await expect(executor.run({ jobId: 'bad', wasm: new TextEncoder().encode('not wasm'), timeoutMs: 1000, resultsDir }))
      .rejects.toMatchObject({ code: 'WASM_INVALID_MODULE' })
    await expect(executor.run({ jobId: 'bad', wasm: await buildCowsayWasm(), entryPoint: 'main', timeoutMs: 1000, resultsDir }))
      .rejects.toMatchObject({ code: 'BAD_JOB_SPEC' })
  })

  it('cancels through an AbortSignal', async () => {
    const wasm = await wat('(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))')
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 200)
    await expect(executor.run({ jobId: 'cancel', wasm, timeoutMs: 10_000, resultsDir: join(await tempDir(), 'r') }, controller.signal))
      .rejects.toMatchObject({ code: 'EXECUTION_CANCELLED' })
  })
})

describe('the cowsay WASM module', () => {
  it('builds from source to the CID its template pins, and is found by that CID in its repository', async () => {
    const template = await readFile(join(MODULES_DIR, 'cowsay-wasm', 'lilypad_module.json.tmpl'), 'utf8')
    const pinned = /"CID": "(Qm[1-9A-HJ-NP-Za-km-z]{44})"/.exec(template)?.[1]
    const wasm = await buildCowsayWasm()
    expect((await cidOfBytes(wasm)).toString()).toBe(pinned)
    const repo = await createCowsayWasmRepo({ into: join(await tempDir(), 'repo') })
    expect(repo.commit).toMatch(/^[0-9a-f]{40}$/)
    expect(await resolveEntryModule({ StorageSource: 'IPFS', CID: pinned }, { searchDirs: [repo.path] })).toEqual(wasm)
    await expect(resolveEntryModule({ StorageSource: 'IPFS', CID: 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN' }, { searchDirs: [repo.path] }))
      .rejects.toMatchObject({ code: 'WASM_MODULE_NOT_FOUND' })
  })
})
