/** WebAssembly's page: memories grow by whole pages. */
export const WASM_PAGE_BYTES = 65536

const MEMORY_SECTION = 5
const HAS_MAX = 0x01
const MEMORY64 = 0x04

export interface CappedModule {
  wasm: Uint8Array
  /** A memory's minimum is already over the cap: the module cannot start within it. */
  overCap: boolean
}

/**
 * Rewrites the module's own memories to declare at most `maxPages` pages, so `memory.grow` past
 * the cap fails inside the module (it returns -1) on every machine alike: nothing of the host's
 * memory, nor of its timing, decides where a run stops. The rest of the module is kept byte for
 * byte. Throws an Error saying why for bytes that are not a module it can read.
 */
export function capMemory (wasm: Uint8Array, maxPages: number): CappedModule {
  const bad = (why: string): Error => new Error(`not a valid WebAssembly module: ${why}`)
  if (wasm.length < 8 || wasm[0] !== 0x00 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) throw bad('no WebAssembly header')
  const parts: Uint8Array[] = [wasm.subarray(0, 8)]
  let overCap = false
  let at = 8
  while (at < wasm.length) {
    const id = wasm[at]!
    const size = readU32(wasm, at + 1, bad)
    const start = size.next
    const end = start + size.value
    if (end > wasm.length) throw bad('a section runs past the end')
    if (id !== MEMORY_SECTION) {
      parts.push(wasm.subarray(at, end))
      at = end
      continue
    }
    const count = readU32(wasm, start, bad)
    const body: number[] = [...writeU32(count.value)]
    let p = count.next
    for (let i = 0; i < count.value; i++) {
      const flags = wasm[p]
      if (flags === undefined || (flags & MEMORY64) !== 0 || flags > 0x03) throw bad('unsupported memory limits')
      const min = readU32(wasm, p + 1, bad)
      p = min.next
      let max = maxPages
      if ((flags & HAS_MAX) !== 0) {
        const declared = readU32(wasm, p, bad)
        p = declared.next
        max = Math.min(declared.value, maxPages)
      }
      if (min.value > maxPages) overCap = true
      body.push(flags | HAS_MAX, ...writeU32(Math.min(min.value, max)), ...writeU32(max))
    }
    if (p !== end) throw bad('a malformed memory section')
    parts.push(Uint8Array.of(MEMORY_SECTION, ...writeU32(body.length), ...body))
    at = end
  }
  return { wasm: concat(parts), overCap }
}

function readU32 (bytes: Uint8Array, at: number, bad: (why: string) => Error): { value: number, next: number } {
  let value = 0
  let shift = 0
  for (let i = at; i < at + 5; i++) {
    const b = bytes[i]
    if (b === undefined) throw bad('a number runs past the end')
    value += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) {
      if (value > 0xffffffff) throw bad('a number beyond 32 bits')
      return { value, next: i + 1 }
    }
    shift += 7
  }
  throw bad('a number longer than 5 bytes')
}

function writeU32 (value: number): number[] {
  const out: number[] = []
  let v = value
  do {
    let b = v % 128
    v = Math.floor(v / 128)
    if (v > 0) b |= 0x80
    out.push(b)
  } while (v > 0)
  return out
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}
