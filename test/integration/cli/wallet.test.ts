import { JsonRpcProvider, Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { walletAddress, walletBalance, walletDeposit, walletWithdraw, type WalletFlags } from '../../../src/cli/commands/wallet.ts'
import { deployContracts, increaseTime, startDevChain, type DevChain } from '../../../src/settlement/index.ts'
import { writePreset } from '../../../src/node/network-presets.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
const TOKENS = 10n ** 21n
let chain: DevChain
let flags: WalletFlags
let address: string

async function wallet (command: (out: (t: string) => void, err: (t: string) => void) => Promise<number>): Promise<{ code: number, json: Record<string, unknown>, err: string }> {
  let out = ''
  let err = ''
  const code = await command(t => { out += t }, t => { err += t })
  return { code, json: JSON.parse(out) as Record<string, unknown>, err }
}

beforeAll(async () => {
  chain = await startDevChain()
  const dataDir = await tempDir()
  // the node's own key, made in its data directory as a node makes it
  const made = await wallet((out, err) => walletAddress({ dataDir, json: true }, out, err))
  address = made.json.address as string
  const deployment = await deployContracts({ rpcUrl: chain.rpcUrl, deployerKey: chain.accounts[0] as string, withdrawDelaySeconds: 3600, fund: [{ address, amount: TOKENS }] })
  // gas for the node's account
  const funder = new Wallet(chain.accounts[1] as string, new JsonRpcProvider(chain.rpcUrl))
  await (await funder.sendTransaction({ to: address, value: 10n ** 18n })).wait()
  funder.provider!.destroy()
  flags = { dataDir, rpcUrl: chain.rpcUrl, settlement: deployment.settlement, json: true }
}, 120_000)
afterAll(async () => { await chain?.stop() })

describe('lilypad wallet', () => {
  test('shows, deposits into and withdraws from the node\'s escrow', async () => {
    expect((await wallet((o, e) => walletAddress(flags, o, e))).json).toEqual({ address })
    expect((await wallet((o, e) => walletBalance(flags, o, e))).json).toEqual({ address, tokens: String(TOKENS), deposit: '0', withdrawal: null })

    const deposited = await wallet((o, e) => walletDeposit('1000', flags, o, e))
    expect(deposited).toMatchObject({ code: 0, json: { deposit: '1000', tokens: String(TOKENS - 1000n) } })

    const early = await wallet((o, e) => walletWithdraw(undefined, flags, o, e))
    expect(early).toMatchObject({ code: 1, json: { code: 'NO_WITHDRAWAL' } })
    const asked = await wallet((o, e) => walletWithdraw('400', flags, o, e))
    expect(asked).toMatchObject({ code: 0, json: { withdrawal: { amount: '400' } } })
    const notYet = await wallet((o, e) => walletWithdraw(undefined, flags, o, e))
    expect(notYet.code).toBe(1)
    expect(notYet.err).toMatch(/paid out from \d{4}-/)

    const provider = new JsonRpcProvider(chain.rpcUrl)
    await increaseTime(provider, 3601)
    provider.destroy()
    const paid = await wallet((o, e) => walletWithdraw(undefined, flags, o, e))
    expect(paid).toMatchObject({ code: 0, json: { withdrawn: '400', deposit: '600', withdrawal: null, tokens: String(TOKENS - 600n) } })
  }, 120_000)

  test('a network\'s preset names the chain and the contract', async () => {
    await writePreset(flags.dataDir!, { name: 'mynet', chainId: String(chain.chainId), rpcUrl: flags.rpcUrl!, settlement: flags.settlement!, bootstrap: [], solvers: [], mediators: [] })
    const viaPreset = await wallet((o, e) => walletBalance({ dataDir: flags.dataDir, network: 'mynet', json: true }, o, e))
    // the chain answered, at the contract the preset names (the temp folder, and so the key, is this test's own)
    expect(viaPreset).toMatchObject({ code: 0, json: { address: expect.stringMatching(/^0x[0-9a-fA-F]{40}$/), tokens: expect.stringMatching(/^\d+$/), deposit: '0' } })
    expect(await wallet((o, e) => walletBalance({ dataDir: flags.dataDir, network: 'othernet', json: true }, o, e))).toMatchObject({ code: 2, json: { code: 'BAD_INPUT', error: expect.stringContaining('no preset of network othernet') } })
  }, 60_000)

  test('bad input and a chain that does not answer are one line each, with their exit codes', async () => {
    expect(await wallet((o, e) => walletDeposit('1.5', flags, o, e))).toMatchObject({ code: 2, json: { code: 'BAD_INPUT' } })
    expect(await wallet((o, e) => walletBalance({ ...flags, rpcUrl: undefined, settlement: undefined }, o, e))).toMatchObject({ code: 2, json: { code: 'BAD_INPUT' } })
    const gone = await wallet((o, e) => walletBalance({ ...flags, rpcUrl: 'http://127.0.0.1:9' }, o, e))
    expect(gone).toMatchObject({ code: 5, json: { code: 'NO_CHAIN' } })
    expect(gone.err.split('\n').filter(Boolean)).toHaveLength(1)
  }, 60_000)
})
