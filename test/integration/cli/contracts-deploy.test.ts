import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { contractsDeploy } from '../../../src/cli/commands/contracts.ts'
import { loadPreset } from '../../../src/node/network-presets.ts'
import { resolveSettings } from '../../../src/node/settings.ts'
import { OnchainJobsClient, SettlementClient, startDevChain, type DevChain } from '../../../src/settlement/index.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()
let chain: DevChain

beforeAll(async () => { chain = await startDevChain() }, 60_000)
afterAll(async () => { await chain?.stop() })

async function deploy (flags: Parameters<typeof contractsDeploy>[0]): Promise<{ code: number, json: Record<string, unknown> }> {
  let out = ''
  const code = await contractsDeploy({ ...flags, json: true }, t => { out += t }, () => {})
  return { code, json: JSON.parse(out) as Record<string, unknown> }
}

describe('lilypad contracts deploy', () => {
  test('deploys with the node\'s key and writes the preset that --network then takes the chain, contracts and peers from', async () => {
    const dataDir = await tempDir()
    const deployer = new Wallet(chain.accounts[2] as string)
    const solver = '0x' + '33'.repeat(20)
    const previous = process.env.WEB3_PRIVATE_KEY
    process.env.WEB3_PRIVATE_KEY = deployer.privateKey
    let deployed: Awaited<ReturnType<typeof deploy>>
    try {
      deployed = await deploy({ network: 'testnet-a', rpcUrl: chain.rpcUrl, dataDir, solvers: solver, bootstrap: '/dns4/boot.example/tcp/4001/p2p/16Uiu2HAm' })
    } finally {
      if (previous === undefined) delete process.env.WEB3_PRIVATE_KEY
      else process.env.WEB3_PRIVATE_KEY = previous
    }
    expect(deployed.code).toBe(0)
    expect(deployed.json).toMatchObject({ name: 'testnet-a', chainId: String(chain.chainId), rpcUrl: chain.rpcUrl, solvers: [solver], file: join(dataDir, 'networks', 'testnet-a.json') })
    // LilypadJobs too, named in the preset, and bound to this settlement contract
    expect(loadPreset(dataDir, 'testnet-a')?.onchainJobs).toBe(deployed.json.onchainJobs)
    const jobs = await OnchainJobsClient.open({ rpcUrl: chain.rpcUrl, privateKey: deployer.privateKey, jobsAddress: deployed.json.onchainJobs as string })
    expect(await jobs.jobs.getFunction('settlement').staticCall()).toBe(deployed.json.settlement)
    await jobs.close()

    // the deployer holds the token's supply: the contract answers at the address the preset names
    const client = await SettlementClient.open({ rpcUrl: chain.rpcUrl, privateKey: deployer.privateKey, settlementAddress: deployed.json.settlement as string })
    expect(await client.tokenBalanceOf()).toBeGreaterThan(0n)
    await client.close()

    const settings = resolveSettings({ dataDir, network: 'testnet-a' }, {})
    expect(settings).toMatchObject({ rpcUrl: chain.rpcUrl, settlementAddress: deployed.json.settlement, bootstrap: ['/dns4/boot.example/tcp/4001/p2p/16Uiu2HAm'] })
    expect(settings.solvers.map(s => s.toLowerCase())).toEqual([solver])
    // a relayer of the preset's jobs contract reads its requests from the deployment on, not from block 0
    const preset = loadPreset(dataDir, 'testnet-a')!
    expect(preset.deployBlock).toBeGreaterThan(0)
    const relaying = { dataDir, network: 'testnet-a', roles: 'job-creator', onchainJobs: preset.onchainJobs }
    expect(resolveSettings(relaying, {}).onchainJobsFromBlock).toBe(preset.deployBlock)
    expect(resolveSettings({ ...relaying, onchainJobs: solver }, {}).onchainJobsFromBlock).toBeUndefined()
    // what is set beside the preset wins
    expect(resolveSettings({ dataDir, network: 'testnet-a', rpcUrl: 'http://other:8545' }, {}).rpcUrl).toBe('http://other:8545')
    // a name with no preset is a gossip topic name only
    expect(resolveSettings({ dataDir, network: 'devnet' }, {}).rpcUrl).toBeUndefined()

    const file = deployed.json.file as string
    await writeFile(file, (await readFile(file, 'utf8')).replace('"rpcUrl"', '"rpcURL"'))
    expect(() => resolveSettings({ dataDir, network: 'testnet-a' }, {})).toThrow(/testnet-a\.json: unknown key "rpcURL"/)
  }, 120_000)

  test('bad input is refused in one line before anything is sent', async () => {
    const dataDir = await tempDir()
    expect(await deploy({ network: 'Bad Name', rpcUrl: chain.rpcUrl, dataDir })).toMatchObject({ code: 2, json: { code: 'BAD_INPUT' } })
    expect(await deploy({ network: 'ok', rpcUrl: chain.rpcUrl, dataDir, withdrawDelay: '5' })).toMatchObject({ code: 2, json: { error: expect.stringMatching(/--withdraw-delay/) } })
    expect(await deploy({ network: 'ok', rpcUrl: 'http://127.0.0.1:9', dataDir })).toMatchObject({ code: 1, json: { error: expect.any(String) } })
  }, 120_000)
})
