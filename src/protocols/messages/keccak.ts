/**
 * Keccak-256 (the original Keccak padding, as Ethereum uses it), equal to noble's `keccak_256` (a
 * test compares them on every length around the block size and on random inputs) and several
 * times faster, which matters because every message id is one EIP-712 hash of several blocks.
 * The sponge runs in the WebAssembly module of keccak-wasm.ts, whose 64-bit lanes cost a fraction
 * of JavaScript's 32-bit halves; inputs too long for its memory, or a runtime without
 * WebAssembly, take the unrolled JavaScript permutation of keccak-f1600.ts.
 */
import { keccakF1600 } from './keccak-f1600.ts'
import { KECCAK_WASM, KECCAK_WASM_INPUT_AT, KECCAK_WASM_PAGES } from './keccak-wasm.ts'

const RATE = 136

interface Sponge {
  memory: Uint8Array
  absorb: (blocks: number) => void
  maxInput: number
}

/** The little of the WebAssembly API used here (the project's TypeScript settings do not declare it). */
interface Wasm {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: { memory: { buffer: ArrayBuffer }, absorb: (blocks: number) => void } }
}

function wasmSponge (): Sponge | null {
  const wasm = (globalThis as { WebAssembly?: Wasm }).WebAssembly
  if (wasm === undefined) return null
  try {
    const { exports } = new wasm.Instance(new wasm.Module(Buffer.from(KECCAK_WASM, 'base64')))
    const size = KECCAK_WASM_PAGES * 65536
    return { memory: new Uint8Array(exports.memory.buffer, 0, size), absorb: exports.absorb, maxInput: size - KECCAK_WASM_INPUT_AT - RATE }
  } catch {
    return null
  }
}

const sponge = wasmSponge()

export function keccak256 (data: Uint8Array): Uint8Array {
  const n = data.length
  if (sponge === null || n > sponge.maxInput) return keccak256Js(data)
  const memory = sponge.memory
  const padded = n - n % RATE + RATE
  memory.set(data, KECCAK_WASM_INPUT_AT)
  memory.fill(0, KECCAK_WASM_INPUT_AT + n, KECCAK_WASM_INPUT_AT + padded)
  memory[KECCAK_WASM_INPUT_AT + n] = 0x01
  memory[KECCAK_WASM_INPUT_AT + padded - 1] = (memory[KECCAK_WASM_INPUT_AT + padded - 1] as number) | 0x80
  sponge.absorb(padded / RATE)
  return memory.slice(0, 32)
}

const state = new Int32Array(50)
const last = new Uint8Array(RATE)

function absorbJs (bytes: Uint8Array, at: number): void {
  for (let w = 0; w < RATE / 4; w++) {
    const i = at + 4 * w
    state[w] = (state[w] as number) ^ ((bytes[i] as number) | (bytes[i + 1] as number) << 8 | (bytes[i + 2] as number) << 16 | (bytes[i + 3] as number) << 24)
  }
  keccakF1600(state)
}

/** The same hash on the JavaScript permutation (for long inputs, and where WebAssembly is missing). */
export function keccak256Js (data: Uint8Array): Uint8Array {
  state.fill(0)
  const n = data.length
  let at = 0
  for (; n - at >= RATE; at += RATE) absorbJs(data, at)
  last.fill(0)
  last.set(data.subarray(at))
  last[n - at] = 0x01
  last[RATE - 1] = (last[RATE - 1] as number) | 0x80
  absorbJs(last, 0)
  const out = new Uint8Array(32)
  for (let w = 0; w < 8; w++) {
    const word = state[w] as number
    out[4 * w] = word & 0xff
    out[4 * w + 1] = word >>> 8 & 0xff
    out[4 * w + 2] = word >>> 16 & 0xff
    out[4 * w + 3] = word >>> 24
  }
  return out
}
