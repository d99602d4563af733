// Builds what the published package runs, with no TypeScript tooling or compiler at run time:
// dist/ (the sources compiled to JavaScript with source maps, and the files they read beside them),
// the contract artifacts in contracts/build, and the cowsay WASI module.
// `npm run build`; `npm pack` runs it first (prepack).
import { execFile } from 'node:child_process'
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { promisify } from 'node:util'
import { ensureContractsBuilt } from '../contracts/build.ts'
import { PACKAGE_ROOT } from '../src/support/package-root.ts'
import { buildCowsayWasm, COWSAY_WASM_BUILT } from './build-cowsay-wasm.ts'

const run = promisify(execFile)
const DIST = join(PACKAGE_ROOT, 'dist')
/** files of src/ that code reads or starts from beside itself: workers, the dashboard */
const ASSET = /\.(mjs|js|html|css)$/

async function copyAssets (dir: string): Promise<number> {
  let copied = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) copied += await copyAssets(path)
    else if (ASSET.test(entry.name)) {
      const to = join(DIST, relative(PACKAGE_ROOT, path))
      await mkdir(dirname(to), { recursive: true })
      await cp(path, to)
      copied++
    }
  }
  return copied
}

const started = Date.now()
await rm(DIST, { recursive: true, force: true })
await run(process.execPath, [join(PACKAGE_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(PACKAGE_ROOT, 'tsconfig.build.json')], { cwd: PACKAGE_ROOT })
  .catch((err: { stdout?: string, message: string }) => { throw new Error(`tsc failed:\n${err.stdout ?? err.message}`) })
const assets = await copyAssets(join(PACKAGE_ROOT, 'src'))
await ensureContractsBuilt()
await mkdir(dirname(COWSAY_WASM_BUILT), { recursive: true })
await writeFile(COWSAY_WASM_BUILT, await buildCowsayWasm())
process.stdout.write(`built dist/ (${assets} assets), contracts and the cowsay module in ${Date.now() - started} ms\n`)
