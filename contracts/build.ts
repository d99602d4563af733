/**
 * Compiles the Solidity sources in contracts/src with solc from npm (WASM, no download) and writes
 * one artifact per contract to contracts/build/<Name>.json: ABI, bytecode, deployed bytecode, and the
 * enum definitions read from the compiler's AST.
 *
 * The build is generated, never committed: it is derived from the sources, so a committed copy could
 * only drift from them. A manifest records a hash of the sources, the compiler version and the
 * settings; `ensureContractsBuilt()` rebuilds only when that hash changes (15-25 s with the IR
 * optimiser on two cores, once; the IR pipeline saves ~4k gas a job on the batch path).
 *
 * Run by hand with `npx tsx contracts/build.ts [--force]`.
 */
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PACKAGE_ROOT } from '../src/support/package-root.ts'

const require = createRequire(import.meta.url)
// the package's own contracts folder, also when this module runs compiled from dist/contracts
export const CONTRACTS_SRC = join(PACKAGE_ROOT, 'contracts', 'src')
export const CONTRACTS_BUILD = join(PACKAGE_ROOT, 'contracts', 'build')
const MANIFEST = join(CONTRACTS_BUILD, 'manifest.json')

export const SOLC_SETTINGS = {
  optimizer: { enabled: true, runs: 10_000 },
  viaIR: true,
  evmVersion: 'cancun',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'], '': ['ast'] } }
} as const

export interface ContractArtifact {
  contractName: string
  sourceName: string
  abi: unknown[]
  bytecode: string
  deployedBytecode: string
  /** enum name → member names, in declaration order, for every enum of the compilation */
  enums: Record<string, string[]>
}

interface SolcOutput {
  errors?: Array<{ severity: string, formattedMessage: string }>
  sources: Record<string, { ast: AstNode }>
  contracts: Record<string, Record<string, { abi: unknown[], evm: { bytecode: { object: string }, deployedBytecode: { object: string } } }>>
}

interface AstNode { nodeType: string, name?: string, nodes?: AstNode[], members?: Array<{ name: string }> }

export class ContractBuildError extends Error {
  readonly code = 'CONTRACT_BUILD_FAILED'
  constructor (message: string) {
    super(message)
    this.name = 'ContractBuildError'
  }
}

function sourceFiles (): string[] {
  return readdirSync(CONTRACTS_SRC).filter(f => f.endsWith('.sol')).sort()
}

/** The compiler's version; undefined where solc is not installed (a published package, built before publishing). */
function solcVersion (): string | undefined {
  try {
    return (require('solc/package.json') as { version: string }).version
  } catch {
    return undefined
  }
}

function sourcesHash (solc: string): string {
  const h = createHash('sha256')
  h.update(solc).update(JSON.stringify(SOLC_SETTINGS))
  h.update((require('@openzeppelin/contracts/package.json') as { version: string }).version)
  for (const f of sourceFiles()) h.update(f).update(readFileSync(join(CONTRACTS_SRC, f)))
  return h.digest('hex')
}

function findImport (path: string): { contents: string } | { error: string } {
  try {
    if (path.startsWith('@openzeppelin/')) return { contents: readFileSync(require.resolve(path), 'utf8') }
    return { contents: readFileSync(resolve(CONTRACTS_SRC, path), 'utf8') }
  } catch {
    return { error: `import not found: ${path}` }
  }
}

function collectEnums (node: AstNode, out: Record<string, string[]>): void {
  if (node.nodeType === 'EnumDefinition' && node.name !== undefined && node.members !== undefined) {
    out[node.name] = node.members.map(m => m.name)
  }
  for (const child of node.nodes ?? []) collectEnums(child, out)
}

/** Compiles every source and writes the artifacts, atomically per file. */
export async function buildContracts (): Promise<string[]> {
  const version = solcVersion()
  if (version === undefined) throw new ContractBuildError(`the contracts in ${CONTRACTS_BUILD} are missing or unreadable, and solc, which builds them, is a development dependency: reinstall the package, or run npm install in a clone`)
  const solc = require('solc') as { compile: (input: string, opts: { import: typeof findImport }) => string }
  const sources: Record<string, { content: string }> = {}
  for (const f of sourceFiles()) sources[f] = { content: readFileSync(join(CONTRACTS_SRC, f), 'utf8') }
  const input = { language: 'Solidity', sources, settings: SOLC_SETTINGS }
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport })) as SolcOutput
  const errors = (output.errors ?? []).filter(e => e.severity === 'error')
  if (errors.length > 0) throw new ContractBuildError(errors.map(e => e.formattedMessage).join('\n'))

  mkdirSync(CONTRACTS_BUILD, { recursive: true })
  const enums: Record<string, string[]> = {}
  for (const source of Object.values(output.sources)) collectEnums(source.ast, enums)
  const written: string[] = []
  for (const sourceName of Object.keys(sources)) {
    for (const [contractName, c] of Object.entries(output.contracts[sourceName] ?? {})) {
      const artifact: ContractArtifact = {
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: '0x' + c.evm.bytecode.object,
        deployedBytecode: '0x' + c.evm.deployedBytecode.object,
        enums
      }
      writeAtomically(join(CONTRACTS_BUILD, `${contractName}.json`), JSON.stringify(artifact, null, 2))
      written.push(contractName)
    }
  }
  writeAtomically(MANIFEST, JSON.stringify({ hash: sourcesHash(version), solc: version, contracts: written }, null, 2))
  return written
}

function writeAtomically (path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, text)
  renameSync(tmp, path)
}

/**
 * True when the build folder matches the current sources, compiler and settings. Without solc (an
 * installed package) the artifacts it ships were built from its sources before publishing.
 */
export function isBuildFresh (): boolean {
  if (!existsSync(MANIFEST)) return false
  const solc = solcVersion()
  if (solc === undefined) return true
  try {
    return (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { hash: string }).hash === sourcesHash(solc)
  } catch {
    return false
  }
}

/**
 * Builds the contracts unless the build is fresh. Test files start in parallel processes: a lock
 * folder lets one of them compile while the others wait for its result.
 */
export async function ensureContractsBuilt (): Promise<void> {
  if (isBuildFresh()) return
  mkdirSync(CONTRACTS_BUILD, { recursive: true })
  const lock = join(CONTRACTS_BUILD, '.lock')
  const started = Date.now()
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (isBuildFresh()) return
      // a lock older than a minute was left by a process that died while compiling
      if (Date.now() - started > 60_000) rmSync(lock, { recursive: true, force: true })
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }
  try {
    if (!isBuildFresh()) await buildContracts()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

export function readArtifact (contractName: string): ContractArtifact {
  const path = join(CONTRACTS_BUILD, `${contractName}.json`)
  if (!existsSync(path)) throw new ContractBuildError(`no artifact for ${contractName}: run ensureContractsBuilt() first`)
  return JSON.parse(readFileSync(path, 'utf8')) as ContractArtifact
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now()
  const names = process.argv.includes('--force') || !isBuildFresh() ? await buildContracts() : []
  process.stdout.write(names.length > 0
    ? `compiled ${names.join(', ')} in ${Date.now() - started} ms\n`
    : 'contracts are up to date\n')
}
