// Builds the cowsay WASI demo from its WebAssembly text source with wabt (no toolchain download).
// `npx tsx scripts/build-cowsay-wasm.ts [out.wasm]` writes the module and prints its CID.
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import wabtInit from 'wabt'

export const COWSAY_WAT = fileURLToPath(new URL('../modules/cowsay-wasm/cowsay.wat', import.meta.url))

/** Compiles a WAT file to WASM bytes; the same source always gives the same bytes. */
export async function compileWat (path: string): Promise<Uint8Array> {
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

export async function buildCowsayWasm (): Promise<Uint8Array> {
  return compileWat(COWSAY_WAT)
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { cidOfBytes } = await import('../src/executor/results/cid.ts')
  const bytes = await buildCowsayWasm()
  const out = process.argv[2] ?? 'cowsay.wasm'
  await writeFile(out, bytes)
  process.stdout.write(`${out} ${bytes.length} bytes ${(await cidOfBytes(bytes)).toString()}\n`)
}
