/**
 * Where strategies are played: a real EVM (anvil) with the settlement contract deployed, one funded
 * account per party, and the chain's clock, which every party's machine reads as its own.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { chainTime, deployContracts, increaseTime, SettlementClient, startDevChain, type DevChain } from '../src/settlement/index.ts'
import type { DomainJson } from '../src/state-machines/common.ts'

/** `withdrawer` and `racer` are job creators with deposits of their own, which they ask to withdraw */
export const PARTIES = ['jobCreator', 'resourceProvider', 'solver', 'mediator', 'otherMediator', 'outsider', 'withdrawer', 'racer'] as const
export type Party = typeof PARTIES[number]

export const DEPOSIT = 1_000_000n
export const WITHDRAW_DELAY_SECONDS = 24 * 3600

export interface Arena {
  chain: DevChain
  domain: DomainJson
  clients: Record<Party, SettlementClient>
  wallets: Record<Party, Wallet>
  /** a folder for the parties' message stores */
  dir: string
  /** the time of the chain's latest block, ms */
  now: () => Promise<number>
  /** moves the chain's clock to just past `ms` (never back) */
  passTo: (ms: number) => Promise<number>
  stop: () => Promise<void>
}

export async function startArena (): Promise<Arena> {
  const chain = await startDevChain({ accounts: PARTIES.length + 1 })
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-adversary-'))
  try {
    const wallets = Object.fromEntries(PARTIES.map((p, i) => [p, new Wallet(chain.accounts[i + 1] as string)])) as Record<Party, Wallet>
    const deployment = await deployContracts({
      rpcUrl: chain.rpcUrl,
      deployerKey: chain.accounts[0] as string,
      withdrawDelaySeconds: WITHDRAW_DELAY_SECONDS,
      fund: PARTIES.map(p => ({ address: wallets[p].address, amount: DEPOSIT * 10n }))
    })
    const clients = Object.fromEntries(await Promise.all(PARTIES.map(async p => [p, await SettlementClient.open({
      rpcUrl: chain.rpcUrl, privateKey: wallets[p].privateKey, settlementAddress: deployment.settlement, chainId: chain.chainId, pollingIntervalMs: 50
    })]))) as Record<Party, SettlementClient>
    for (const p of ['jobCreator', 'resourceProvider', 'withdrawer', 'racer'] as const) await clients[p].deposit(DEPOSIT)
    const provider = clients.outsider.provider
    const now = async (): Promise<number> => (await chainTime(provider)) * 1000
    return {
      chain,
      domain: { chainId: String(chain.chainId), verifyingContract: deployment.settlement },
      clients,
      wallets: Object.fromEntries(PARTIES.map(p => [p, clients[p].wallet])) as Record<Party, Wallet>,
      dir,
      now,
      passTo: async (ms) => {
        const seconds = Math.floor(ms / 1000) + 1 - (await chainTime(provider))
        if (seconds > 0) await increaseTime(provider, seconds)
        return await now()
      },
      stop: async () => {
        for (const c of Object.values(clients)) await c.provider.removeAllListeners()
        await new Promise(resolve => setTimeout(resolve, 200))
        for (const c of Object.values(clients)) await c.close()
        await chain.stop()
        await rm(dir, { recursive: true, force: true })
      }
    }
  } catch (err) {
    await chain.stop()
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}
