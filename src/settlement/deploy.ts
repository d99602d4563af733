/** Deploys the token and the settlement contract, and funds accounts with tokens. */
import { ContractFactory, Wallet, type Contract, type JsonRpcProvider } from 'ethers'
import { combinedInterface, loadArtifacts, loadOnchainJobsArtifacts, type ContractArtifact } from './artifacts.ts'
import { SettlementError } from './errors.ts'
import { connectProvider } from './provider.ts'
import { TxSender } from './tx-sender.ts'

/** Longer than any deal's deadlines should run: a counterparty checks its deals end before it. */
export const DEFAULT_WITHDRAW_DELAY_SECONDS = 7 * 24 * 3600
export const DEFAULT_INITIAL_SUPPLY = 10n ** 27n

export interface DeployOptions {
  rpcUrl: string
  /** private key of the deployer, who holds the token's supply */
  deployerKey: string
  withdrawDelaySeconds?: number
  initialSupply?: bigint
  /** token transfers from the deployer once deployed */
  fund?: Array<{ address: string, amount: bigint }>
  /** also deploy LilypadJobs, through which contracts ask for jobs */
  onchainJobs?: boolean
  confirmations?: number
  provider?: JsonRpcProvider
}

export interface Deployment {
  chainId: bigint
  token: string
  settlement: string
  /** LilypadJobs, when it was asked for */
  onchainJobs?: string
  deployer: string
  withdrawDelaySeconds: number
  /** block of the settlement contract's creation: where event watchers start */
  deployBlock: number
}

export interface Deployed {
  address: string
  /** the block of its creation */
  block: number
}

/** Deploys one contract through `sender`, whose wallet pays for it. */
export async function deployContract (sender: TxSender, artifact: ContractArtifact, args: unknown[]): Promise<Deployed> {
  const factory = new ContractFactory(artifact.abi as never, artifact.bytecode, sender.wallet)
  let contract: Contract | undefined
  const receipt = await sender.send(async ({ nonce }) => {
    contract = await factory.deploy(...args, { nonce }) as Contract
    const tx = contract.deploymentTransaction()
    if (tx === null) throw new SettlementError('TRANSACTION_FAILED', 'no deployment transaction')
    return tx
  })
  if (receipt.contractAddress === null) throw new SettlementError('TRANSACTION_FAILED', 'the deployment created no contract')
  return { address: receipt.contractAddress, block: receipt.blockNumber }
}

/** Deploys LilypadJobs for a settlement contract and its token. */
export async function deployOnchainJobs (sender: TxSender, settlement: string, token: string): Promise<Deployed> {
  return await deployContract(sender, (await loadOnchainJobsArtifacts()).jobs, [settlement, token])
}

export async function deployContracts (options: DeployOptions): Promise<Deployment> {
  const artifacts = await loadArtifacts()
  const provider = options.provider ?? await connectProvider(options.rpcUrl)
  try {
    const network = await provider.getNetwork()
    const deployer = new Wallet(options.deployerKey, provider)
    const sender = new TxSender(deployer, combinedInterface(artifacts), { confirmations: options.confirmations })
    const delay = options.withdrawDelaySeconds ?? DEFAULT_WITHDRAW_DELAY_SECONDS

    const token = await deployContract(sender, artifacts.token, [options.initialSupply ?? DEFAULT_INITIAL_SUPPLY])
    const settlement = await deployContract(sender, artifacts.settlement, [token.address, delay])
    const onchainJobs = options.onchainJobs === true ? await deployOnchainJobs(sender, settlement.address, token.address) : undefined

    const tokenContract = new ContractFactory(artifacts.token.abi as never, artifacts.token.bytecode, deployer).attach(token.address) as Contract
    const transfer = tokenContract.getFunction('transfer')
    await Promise.all((options.fund ?? []).map(async ({ address, amount }) =>
      await sender.send(async ({ nonce }) => await transfer.send(address, amount, { nonce }))))

    return {
      chainId: network.chainId,
      token: token.address,
      settlement: settlement.address,
      ...(onchainJobs === undefined ? {} : { onchainJobs: onchainJobs.address }),
      deployer: deployer.address,
      withdrawDelaySeconds: delay,
      deployBlock: settlement.block
    }
  } finally {
    if (options.provider === undefined) provider.destroy()
  }
}
