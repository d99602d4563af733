// The WASM executor's caps, on real modules in real worker threads: linear memory, stdout and
// /outputs are capped while the module runs, and a run stopped by a cap ends the same way twice.
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { compileWat } from '../../../scripts/build-cowsay-wasm.ts'
import { cidOfPath } from '../../../src/executor/results/cid.ts'
import { capMemory } from '../../../src/executor/wasm/memory-cap.ts'
import { KILLED_EXIT_CODE, WasmExecutor } from '../../../src/executor/wasm/executor.ts'
import { useTempDirs } from '../../support/temp-dir.ts'
import { growerWat } from '../../support/wasm-grower.ts'

const tempDir = useTempDirs()
const MiB = 1024 * 1024

async function wat (source: string): Promise<Uint8Array> {
  const path = join(await tempDir(), 'm.wat')
  await writeFile(path, source)
  return compileWat(path)
}

const FD_WRITE = '(import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))'
const PROC_EXIT = '(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'

/** Writes "go\n", then grows its memory a page at a time until a grow fails; then `onFull`. */
const growUntilRefused = (memory: string, onFull: string): string => growerWat({ memory, pagesPerGrow: 1, onFull, imports: [PROC_EXIT] })

async function run (executor: WasmExecutor, wasm: Uint8Array, timeoutMs = 20_000): Promise<{ result: Awaited<ReturnType<WasmExecutor['run']>>, cid: string, stdout: string }> {
  const resultsDir = join(await tempDir(), 'results')
  const result = await executor.run({ jobId: 'limits', wasm, timeoutMs, resultsDir })
  return { result, cid: (await cidOfPath(resultsDir)).toString(), stdout: await readFile(join(resultsDir, 'stdout'), 'utf8') }
}

describe('WASM linear memory', () => {
  const executor = new WasmExecutor({ maxMemoryBytes: 4 * MiB })

  it('stops a module that grows its memory at the cap, as an out-of-memory kill, the same way every run', async () => {
    const wasm = await wat(growUntilRefused('1', 'unreachable'))
    const first = await run(executor, wasm)
    expect(first.result).toMatchObject({ exitCode: KILLED_EXIT_CODE, oomKilled: true, timedOut: false })
    expect(first.stdout).toBe('go\n')
    expect(await readFile(join(first.result.resultsDir, 'exitCode'), 'utf8')).toBe(String(KILLED_EXIT_CODE))
    const second = await run(executor, wasm)
    expect(second.cid).toBe(first.cid)
  })

  it('lets the module see the cap: memory.grow fails at exactly the capped page count, even past a larger declared maximum', async () => {
    // on a failed grow, exit with the page count (64 pages = 4 MiB)
    for (const memory of ['1', '1 60000']) {
      const { result } = await run(executor, await wat(growUntilRefused(memory, '(call $exit (memory.size))')))
      expect(result).toMatchObject({ exitCode: 64, oomKilled: false })
    }
  })

  it('takes the job\'s own memory as the cap where it is lower', async () => {
    const resultsDir = join(await tempDir(), 'results')
    const result = await new WasmExecutor().run({ jobId: 'small', wasm: await wat(growUntilRefused('1', '(call $exit (memory.size))')), timeoutMs: 20_000, resultsDir, maxMemoryBytes: 2 * MiB })
    expect(result.exitCode).toBe(32)
  })

  it('takes the executor\'s cap where the job names zero memory, never a cap of nothing', async () => {
    const resultsDir = join(await tempDir(), 'results')
    const result = await executor.run({ jobId: 'zero', wasm: await wat(growUntilRefused('1', '(call $exit (memory.size))')), timeoutMs: 20_000, resultsDir, maxMemoryBytes: 0 })
    expect(result).toMatchObject({ exitCode: 64, oomKilled: false })
    expect(await readFile(join(resultsDir, 'stdout'), 'utf8')).toBe('go\n')
  })

  it('does not start a module whose declared minimum is over the cap', async () => {
    const { result, stdout } = await run(executor, await wat(growUntilRefused('65', '(call $exit (i32.const 0))')))
    expect(result).toMatchObject({ exitCode: KILLED_EXIT_CODE, oomKilled: true })
    expect(stdout).toBe('')
  })

  it('rewrites only the memory limits, and refuses bytes that are not a module', async () => {
    const wasm = await wat(growUntilRefused('2 10', 'unreachable'))
    const capped = capMemory(wasm, 4)
    expect(capped.overCap).toBe(false)
    expect(capped.wasm.length).toBe(wasm.length)
    expect(Buffer.from(capped.wasm).compare(Buffer.from(wasm))).not.toBe(0)
    expect(capMemory(capped.wasm, 4).wasm).toEqual(capped.wasm)
    expect(() => capMemory(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 4)).toThrow('not a valid WebAssembly module: no WebAssembly header')
  })
})

describe('outputs while running', () => {
  it('never lets stdout grow past its cap on disk, even while the module keeps writing', async () => {
    const executor = new WasmExecutor({ stdoutLimitBytes: 4096 })
    // writes 64 KiB of memory to stdout forever
    const wasm = await wat(`(module
      ${FD_WRITE}
      (memory (export "memory") 2)
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 65536))
        (i32.store (i32.const 4) (i32.const 65536))
        (loop $again
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (br $again))))`)
    const resultsDir = join(await tempDir(), 'results')
    let largest = 0
    const watch = setInterval(() => {
      stat(join(resultsDir, 'stdout')).then(s => { largest = Math.max(largest, s.size) }, () => undefined)
    }, 5)
    const result = await executor.run({ jobId: 'chatty', wasm, timeoutMs: 1500, resultsDir })
    clearInterval(watch)
    expect(result).toMatchObject({ timedOut: true, exitCode: KILLED_EXIT_CODE })
    expect(largest).toBeGreaterThan(0)
    expect(largest).toBeLessThanOrEqual(4096)
    expect((await stat(join(resultsDir, 'stdout'))).size).toBe(4096)
  })

  it('fails writes under /outputs with ENOSPC once they reach the cap, and reports the truncation of stdout', async () => {
    const executor = new WasmExecutor({ outputsLimitBytes: 10_000, stdoutLimitBytes: 2 })
    // opens /outputs/big, writes 4 KiB at a time until a write fails, then prints that errno
    const wasm = await wat(`(module
      ${FD_WRITE}
      ${PROC_EXIT}
      (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 64) "big")
      (func (export "_start")
        (local $errno i32)
        (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 3) (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 20)))
        (i32.store (i32.const 0) (i32.const 4096))
        (i32.store (i32.const 4) (i32.const 4096))
        (loop $again
          (local.set $errno (call $fd_write (i32.load (i32.const 20)) (i32.const 0) (i32.const 1) (i32.const 8)))
          (br_if $again (i32.eqz (local.get $errno))))
        ;; the errno as two decimal digits, then a newline (which the 2-byte cap drops)
        (i32.store8 (i32.const 32) (i32.add (i32.const 48) (i32.div_u (local.get $errno) (i32.const 10))))
        (i32.store8 (i32.const 33) (i32.add (i32.const 48) (i32.rem_u (local.get $errno) (i32.const 10))))
        (i32.store8 (i32.const 34) (i32.const 10))
        (i32.store (i32.const 0) (i32.const 32))
        (i32.store (i32.const 4) (i32.const 3))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (call $exit (i32.const 0))))`)
    const { result, stdout } = await run(executor, wasm)
    expect(stdout).toBe('51')
    expect(result).toMatchObject({ exitCode: 0, stdoutTruncated: true })
    expect((await stat(join(result.resultsDir, 'outputs', 'big'))).size).toBe(8192)
  })
})
