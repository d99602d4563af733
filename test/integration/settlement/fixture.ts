/** A dev chain with the contracts deployed, a client per party, and helpers to make signed evidence. */
import { Wallet } from 'ethers'
import {
  chainTime, deployContracts, signDeal, signMessage, startDevChain, SettlementClient,
  type Deployment, type DevChain, type SignedDeal
} from '../../../src/settlement/index.ts'
import type { Deal, MessagePayloads } from '../../../src/protocols/messages/schemas.ts'
import type { MessageType } from '../../../src/protocols/messages/eip712-types.ts'

export const TOKENS = 10n ** 24n
export const ROLES = ['jobCreator', 'resourceProvider', 'mediator', 'solver', 'otherMediator', 'outsider'] as const
export type Party = typeof ROLES[number]

export interface Fixture {
  chain: DevChain
  deployment: Deployment
  clients: Record<Party, SettlementClient>
  wallets: Record<Party, Wallet>
  stop: () => Promise<void>
}

/** `onchainJobs`: LilypadJobs deployed too (deployment.onchainJobs) */
export async function startFixture (options: { onchainJobs?: boolean } = {}): Promise<Fixture> {
  const chain = await startDevChain()
  try {
    const parties = Object.fromEntries(ROLES.map((r, i) => [r, new Wallet(chain.accounts[i + 1] as string)])) as Record<Party, Wallet>
    const deployment = await deployContracts({
      rpcUrl: chain.rpcUrl,
      deployerKey: chain.accounts[0] as string,
      withdrawDelaySeconds: 3600,
      onchainJobs: options.onchainJobs,
      fund: ROLES.map(r => ({ address: parties[r].address, amount: TOKENS }))
    })
    const clients = Object.fromEntries(await Promise.all(ROLES.map(async r => [r, await SettlementClient.open({
      rpcUrl: chain.rpcUrl, privateKey: parties[r].privateKey, settlementAddress: deployment.settlement, chainId: chain.chainId
    })]))) as Record<Party, SettlementClient>
    const wallets = Object.fromEntries(ROLES.map(r => [r, clients[r].wallet])) as Record<Party, Wallet>
    return {
      chain,
      deployment,
      clients,
      wallets,
      stop: async () => {
        // a transaction's wait() that ethers has resolved may leave a block-number poll behind: stop the
        // pollers and let a request in flight come back before the providers are destroyed (destroying
        // one under a request rejects it where nothing awaits it, which fails the run)
        for (const c of Object.values(clients)) await c.provider.removeAllListeners()
        await new Promise(resolve => setTimeout(resolve, 200))
        for (const c of Object.values(clients)) await c.close()
        await chain.stop()
      }
    }
  } catch (err) {
    await chain.stop()
    throw err
  }
}

let nonce = 0

/** A deal between the fixture's parties, deadlines (ms) counted from the chain's clock. */
export async function makeDeal (f: Fixture, overrides: Partial<Deal> = {}): Promise<Deal> {
  const now = (await chainTime(f.clients.jobCreator.provider)) * 1000
  const agree = now + 60_000
  nonce += 1
  return {
    jobCreator: f.wallets.jobCreator.address,
    resourceProvider: f.wallets.resourceProvider.address,
    solver: f.wallets.solver.address,
    nonce: String(nonce),
    expiry: agree,
    jobOfferId: '0x' + '11'.repeat(32),
    resourceOfferId: '0x' + '22'.repeat(32),
    matchProposalId: '0x' + '33'.repeat(32),
    specHash: '0x' + '44'.repeat(32),
    mediators: [f.wallets.mediator.address],
    quorum: 1,
    price: '1000',
    solverFee: '10',
    mediatorFee: '50',
    paymentCollateral: '1200',
    jobCreatorTimeoutCollateral: '300',
    resultsCollateral: '400',
    timeoutCollateral: '100',
    agreeDeadline: agree,
    submitDeadline: agree + 600_000,
    judgeDeadline: agree + 1_200_000,
    mediateDeadline: agree + 1_800_000,
    ...overrides
  }
}

export async function sign (f: Fixture, deal: Deal): Promise<SignedDeal> {
  return await signDeal(f.clients.jobCreator.domain, deal, f.wallets.jobCreator, f.wallets.resourceProvider)
}

export async function signAs<T extends MessageType> (f: Fixture, who: Party, type: T, message: MessagePayloads[T]): Promise<string> {
  return await signMessage(f.wallets[who], f.clients.jobCreator.domain, type, message)
}

/** a results folder whose stdout is a cow saying moo (results-folder.ts builds its blocks) */
export const CID = 'QmZ6owu9ttba9ECVusx6yp83oPUbjZorp4249RruPd67xs'
export const OTHER_CID = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'

export function common (f: Fixture, who: Party, n = 1): { author: string, nonce: string, expiry: number } {
  return { author: f.wallets[who].address, nonce: String(n), expiry: 9_999_999_999_999 }
}

export async function depositAll (f: Fixture, amount = 100_000n): Promise<void> {
  await Promise.all([f.clients.jobCreator.deposit(amount), f.clients.resourceProvider.deposit(amount)])
}
