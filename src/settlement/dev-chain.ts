/**
 * A local EVM chain for tests and `lilypad devnet`: anvil, whose binary ships inside the npm package
 * @foundry-rs/anvil-<platform> (nothing is downloaded). JSON-RPC on 127.0.0.1 (or `host`), funded accounts whose
 * private keys are read from anvil's own account file, one block per transaction.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { JsonRpcProvider } from 'ethers'
import { SettlementError } from './errors.ts'

export interface DevChainOptions {
  /** the IPv4 address the JSON-RPC listens on (default 127.0.0.1) */
  host?: string
  /** 0 or absent: a free port chosen by the system */
  port?: number
  /** number of funded accounts (default 10) */
  accounts?: number
  /** ether per account (default 10000) */
  balanceEth?: number
  chainId?: number
  /** start time of the chain, seconds since the epoch (default: now) */
  timestamp?: number
  startTimeoutMs?: number
}

export interface DevChain {
  rpcUrl: string
  chainId: bigint
  /** private keys of the funded accounts, 0x-prefixed */
  accounts: string[]
  addresses: string[]
  stop: () => Promise<void>
}

const require = createRequire(import.meta.url)

/**
 * Path of the anvil binary: `@foundry-rs/anvil` installs the package of this platform as an
 * optional dependency of its own, found from there however npm laid the tree out.
 */
export function anvilBinary (): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`
  try {
    const fromAnvil = createRequire(require.resolve('@foundry-rs/anvil/package.json'))
    return join(dirname(fromAnvil.resolve(`${pkg}/package.json`)), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
  } catch {
    throw new SettlementError('DEV_CHAIN_UNAVAILABLE', `no anvil binary for ${process.platform}-${process.arch}: @foundry-rs/anvil ships linux, macOS (x64, arm64) and windows x64 builds; install ${pkg}`)
  }
}

export async function startDevChain (options: DevChainOptions = {}): Promise<DevChain> {
  const dir = mkdtempSync(join(tmpdir(), 'lilypad-anvil-'))
  const configFile = join(dir, 'accounts.json')
  const chainId = options.chainId ?? 31337
  const host = options.host ?? '127.0.0.1'
  const args = [
    '--host', host,
    '--port', String(options.port ?? 0),
    '--accounts', String(options.accounts ?? 10),
    '--balance', String(options.balanceEth ?? 10_000),
    '--chain-id', String(chainId),
    '--config-out', configFile
  ]
  if (options.timestamp !== undefined) args.push('--timestamp', String(options.timestamp))
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let port: number
  try {
    port = await waitForListening(child, options.startTimeoutMs ?? 15_000)
  } catch (err) {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as { available_accounts: string[], private_keys: string[] }
  const exited = new Promise<void>(resolve => {
    if (child.exitCode !== null) resolve()
    else child.once('exit', () => { resolve() })
  })
  return {
    rpcUrl: `http://${host}:${port}`,
    chainId: BigInt(chainId),
    accounts: config.private_keys,
    addresses: config.available_accounts,
    stop: async () => {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

function waitForListening (child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = ''
    let settled = false
    const finish = (fn: () => void): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      fn()
    }
    const timer = setTimeout(() => {
      finish(() => { reject(new SettlementError('DEV_CHAIN_UNAVAILABLE', `anvil did not start within ${timeoutMs} ms: ${out.slice(-500)}`)) })
    }, timeoutMs)
    const onData = (chunk: Buffer): void => {
      if (settled) return // keep draining so the pipe never fills
      out += chunk.toString()
      const match = /Listening on [\d.]+:(\d+)/.exec(out)
      if (match !== null) finish(() => { resolve(Number(match[1])) })
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('error', err => { finish(() => { reject(new SettlementError('DEV_CHAIN_UNAVAILABLE', `anvil failed to start: ${err.message}`)) }) })
    child.once('exit', code => { finish(() => { reject(new SettlementError('DEV_CHAIN_UNAVAILABLE', `anvil exited with ${String(code)}: ${out.slice(-500)}`)) }) })
  })
}

/** Moves the dev chain's clock forward and mines a block at the new time. */
export async function increaseTime (provider: JsonRpcProvider, seconds: number): Promise<void> {
  await provider.send('evm_increaseTime', [seconds])
  await provider.send('evm_mine', [])
}

/** Time of the latest block, seconds since the epoch. */
export async function chainTime (provider: JsonRpcProvider): Promise<number> {
  const block = await provider.getBlock('latest')
  if (block === null) throw new SettlementError('CHAIN_UNAVAILABLE', 'no latest block')
  return block.timestamp
}

export async function snapshot (provider: JsonRpcProvider): Promise<string> {
  return await provider.send('evm_snapshot', []) as string
}

export async function revertTo (provider: JsonRpcProvider, id: string): Promise<void> {
  await provider.send('evm_revert', [id])
}
