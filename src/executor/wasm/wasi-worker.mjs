/* global WebAssembly */
// Runs one WASI (preview1) module in a worker thread, so the parent can terminate it at its deadline.
// Plain JavaScript: a worker is started by Node itself, outside any TypeScript loader.
import { closeSync, openSync } from 'node:fs'
import { WASI } from 'node:wasi'
import { parentPort, workerData } from 'node:worker_threads'

/**
 * Clock and randomness are the two ways WASI lets a program see the world change, so they are
 * fixed: the clock always reads the epoch and the random source is a seeded xorshift. The same
 * module with the same inputs then writes the same bytes on every machine.
 */
function deterministic (imports, memory) {
  let state = 0x9e3779b9
  const next = () => {
    state ^= state << 13; state >>>= 0
    state ^= state >>> 17
    state ^= state << 5; state >>>= 0
    return state & 0xff
  }
  return {
    ...imports,
    clock_time_get (_id, _precision, out) {
      new DataView(memory().buffer).setBigUint64(out, 0n, true)
      return 0
    },
    random_get (buf, len) {
      const bytes = new Uint8Array(memory().buffer, buf, len)
      for (let i = 0; i < len; i++) bytes[i] = next()
      return 0
    }
  }
}

const { wasm, args, env, outputsDir, stdoutPath, stderrPath } = workerData

async function main () {
  let module
  try {
    module = await WebAssembly.compile(wasm)
  } catch (err) {
    return { invalid: String(err?.message ?? err) }
  }
  const stdout = openSync(stdoutPath, 'w')
  const stderr = openSync(stderrPath, 'w')
  try {
    const wasi = new WASI({ version: 'preview1', args, env, preopens: { '/outputs': outputsDir }, stdout, stderr, returnOnExit: true })
    let instance
    const base = wasi.getImportObject()
    const imports = { ...base, wasi_snapshot_preview1: deterministic(base.wasi_snapshot_preview1, () => instance.exports.memory) }
    instance = await WebAssembly.instantiate(module, imports)
    return { exitCode: wasi.start(instance) }
  } catch (err) {
    return { error: String(err?.message ?? err) }
  } finally {
    closeSync(stdout)
    closeSync(stderr)
  }
}

parentPort.postMessage(await main())
