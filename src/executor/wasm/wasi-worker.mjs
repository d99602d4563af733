/* global WebAssembly */
// Runs one WASI (preview1) module in a worker thread, so the parent can terminate it at its deadline.
// Plain JavaScript: a worker is started by Node itself, outside any TypeScript loader.
import { closeSync, openSync, writeSync } from 'node:fs'
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

// WASI's errno values (preview1)
const ERRNO_SUCCESS = 0
const ERRNO_BADF = 8
const ERRNO_FBIG = 22
const ERRNO_INVAL = 28
const ERRNO_NOSPC = 51

/**
 * Caps what a run can write while it runs, not after: stdout and stderr keep their first bytes
 * (the program is told all was written, as a full pipe would not), and files under /outputs
 * together take at most `outputsLimit` bytes, past which writes fail with ENOSPC. Every machine
 * draws these lines at the same byte, so a capped run's results are the same everywhere.
 */
function capped (imports, memory, files, limits) {
  const streams = {
    1: { fd: files.stdout, room: limits.stdout, truncated: false },
    2: { fd: files.stderr, room: limits.stderr, truncated: false }
  }
  let outputsRoom = limits.outputs
  const iovecs = (iovs, count) => {
    const view = new DataView(memory().buffer)
    const list = []
    for (let i = 0; i < count; i++) list.push({ ptr: view.getUint32(iovs + i * 8, true), len: view.getUint32(iovs + i * 8 + 4, true) })
    return list
  }
  const total = (list) => list.reduce((n, v) => n + v.len, 0)
  const setSize = (ptr, n) => new DataView(memory().buffer).setUint32(ptr, n, true)
  return {
    streams,
    imports: {
      ...imports,
      fd_write (fd, iovs, count, nwritten) {
        const stream = streams[fd]
        if (stream !== undefined) {
          const list = iovecs(iovs, count)
          for (const v of list) {
            const keep = Math.min(v.len, stream.room)
            if (keep > 0) writeSync(stream.fd, new Uint8Array(memory().buffer, v.ptr, keep))
            if (keep < v.len) stream.truncated = true
            stream.room -= keep
          }
          setSize(nwritten, total(list))
          return ERRNO_SUCCESS
        }
        if (fd === 0) return ERRNO_BADF
        const n = total(iovecs(iovs, count))
        if (n > outputsRoom) return ERRNO_NOSPC
        const errno = imports.fd_write(fd, iovs, count, nwritten)
        if (errno === ERRNO_SUCCESS) outputsRoom -= new DataView(memory().buffer).getUint32(nwritten, true)
        return errno
      },
      fd_pwrite (fd, iovs, count, offset, nwritten) {
        if (fd <= 2) return ERRNO_BADF
        const n = total(iovecs(iovs, count))
        if (n > outputsRoom || offset + BigInt(n) > BigInt(limits.outputs)) return ERRNO_NOSPC
        const errno = imports.fd_pwrite(fd, iovs, count, offset, nwritten)
        if (errno === ERRNO_SUCCESS) outputsRoom -= new DataView(memory().buffer).getUint32(nwritten, true)
        return errno
      },
      // a seek or a size past the cap would make a sparse file of any length out of a few bytes
      fd_seek (fd, offset, whence, newOffset) {
        const errno = imports.fd_seek(fd, offset, whence, newOffset)
        if (errno !== ERRNO_SUCCESS || fd <= 2) return errno
        if (new DataView(memory().buffer).getBigUint64(newOffset, true) > BigInt(limits.outputs)) {
          imports.fd_seek(fd, 0n, 0, newOffset)
          return ERRNO_INVAL
        }
        return errno
      },
      fd_filestat_set_size (fd, size) {
        return size > BigInt(limits.outputs) ? ERRNO_FBIG : imports.fd_filestat_set_size(fd, size)
      },
      fd_allocate (fd, offset, len) {
        return offset + len > BigInt(limits.outputs) ? ERRNO_NOSPC : imports.fd_allocate(fd, offset, len)
      }
    }
  }
}

const { wasm, args, env, outputsDir, stdoutPath, stderrPath, limits } = workerData

async function main () {
  let module
  try {
    module = await WebAssembly.compile(wasm)
  } catch (err) {
    return { invalid: String(err?.message ?? err) }
  }
  const stdout = openSync(stdoutPath, 'w')
  const stderr = openSync(stderrPath, 'w')
  let instance
  let streams
  const memory = () => instance?.exports?.memory
  const truncation = () => ({ stdoutTruncated: streams?.[1].truncated ?? false, stderrTruncated: streams?.[2].truncated ?? false })
  try {
    const wasi = new WASI({ version: 'preview1', args, env, preopens: { '/outputs': outputsDir }, stdout, stderr, returnOnExit: true })
    const base = wasi.getImportObject()
    const caps = capped(deterministic(base.wasi_snapshot_preview1, memory), memory, { stdout, stderr }, limits)
    streams = caps.streams
    instance = await WebAssembly.instantiate(module, { ...base, wasi_snapshot_preview1: caps.imports })
    return { exitCode: wasi.start(instance), ...truncation() }
  } catch (err) {
    // a trap once the memory is (nearly) at its cap: the program ran out of the memory it may have
    const bytes = memory()?.buffer?.byteLength ?? 0
    const atCap = instance !== undefined && bytes + limits.memorySlack >= limits.memory
    return { error: String(err?.message ?? err), atMemoryCap: atCap, ...truncation() }
  } finally {
    closeSync(stdout)
    closeSync(stderr)
  }
}

parentPort.postMessage(await main())
