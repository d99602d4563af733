// Builds the cowsay WASI demo from its WebAssembly text source with wabt (no toolchain download).
// `npx tsx scripts/build-cowsay-wasm.ts [out.wasm]` writes the module and prints its CID.
// wabt is a development dependency: a published package carries the module built before publishing.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type WabtInit from 'wabt'
import { PACKAGE_ROOT } from '../src/support/package-root.ts'

export const COWSAY_WAT = join(PACKAGE_ROOT, 'modules', 'cowsay-wasm', 'cowsay.wat')
/** where the package build leaves the compiled module (`npm run build`) */
export const COWSAY_WASM_BUILT = join(PACKAGE_ROOT, 'dist', 'modules', 'cowsay.wasm')

async function loadWabt (): Promise<typeof WabtInit | undefined> {
  try {
    return (await import('wabt')).default
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined
    throw err
  }
}

/** Compiles a WAT file to WASM bytes; the same source always gives the same bytes. */
export async function compileWat (path: string): Promise<Uint8Array> {
  const wabtInit = await loadWabt()
  if (wabtInit === undefined) throw new Error(`cannot compile ${path}: wabt, a development dependency, is not installed`)
  const wabt = await wabtInit()
  const source = await readFile(path, 'utf8')
  const mod = wabt.parseWat(path, source, { bulk_memory: true })
  try {
    mod.resolveNames()
    mod.validate()
    return Uint8Array.from(mod.toBinary({ log: false, write_debug_names: false }).buffer)
  } finally {
    mod.destroy()
  }
}

/** The cowsay module: compiled from its source where wabt is installed, else the one built with the package. */
export async function buildCowsayWasm (): Promise<Uint8Array> {
  if (await loadWabt() === undefined) return new Uint8Array(await readFile(COWSAY_WASM_BUILT))
  return compileWat(COWSAY_WAT)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { cidOfBytes } = await import('../src/executor/results/cid.ts')
  const bytes = await buildCowsayWasm()
  const out = process.argv[2] ?? 'cowsay.wasm'
  await writeFile(out, bytes)
  process.stdout.write(`${out} ${bytes.length} bytes ${(await cidOfBytes(bytes)).toString()}\n`)
}
