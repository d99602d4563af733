import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import Docker from 'dockerode'
import { startDevnet, type Devnet, type DevnetOptions } from '../../devnet/devnet.ts'
import { createCowsayRepo, createCowsayWasmRepo } from './demo-modules.ts'

const LILYPAD_MODULES = 'github.com/Lilypad-Tech/lilypad-module-'

export interface DemoNetwork extends Devnet {
  /** the engine the `cowsay` module runs on here */
  engine: 'docker' | 'wasm'
}

export async function dockerAnswers (): Promise<boolean> {
  return await new Docker().ping().then(() => true, () => false)
}

/**
 * A devnet whose nodes find the demo modules offline: `cowsay` is the Docker module when an
 * engine answers and the WASM one otherwise; `cowsay-wasm` is always the WASM one.
 */
export async function startDemoNetwork (options: Omit<DevnetOptions, 'mirrors'> & { engine?: 'docker' | 'wasm' }): Promise<DemoNetwork> {
  const log = options.log ?? (() => {})
  const engine = options.engine ?? (await dockerAnswers() ? 'docker' : 'wasm')
  const modules = join(options.dir, '..', `${options.dir.split('/').pop() ?? 'devnet'}-modules`)
  await mkdir(modules, { recursive: true })
  log(`building the demo modules (cowsay runs on ${engine === 'docker' ? 'Docker' : 'WASM: no Docker engine answers'})`)
  const wasm = await createCowsayWasmRepo({ into: await freshDir(join(modules, 'cowsay-wasm')) })
  const cowsay = engine === 'docker' ? (await createCowsayRepo({ into: await freshDir(join(modules, 'cowsay')) })).path : wasm.path
  // by short name for `lilypad run cowsay:…`, by repository for the providers that load the pinned commit
  const mirrors: Record<string, string> = {
    'cowsay-wasm': wasm.path,
    [`${LILYPAD_MODULES}cowsay-wasm`]: wasm.path,
    cowsay,
    [`${LILYPAD_MODULES}cowsay`]: cowsay
  }
  const devnet = await startDevnet({ ...options, mirrors })
  return { ...devnet, engine }
}

async function freshDir (path: string): Promise<string> {
  await rm(path, { recursive: true, force: true })
  await mkdir(path, { recursive: true })
  return path
}
