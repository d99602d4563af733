/**
 * ExampleCowsayClient: a contract that asks LilypadJobs for `cowsay <message>`, paying from its own
 * tokens, and keeps the CID of the results it is called back with and the cow (the job's stdout).
 * Driven from its owner's account.
 */
import { Contract } from 'ethers'
import { loadOnchainJobsArtifacts } from './artifacts.ts'
import type { SettlementReceipt } from './client.ts'
import { deployContract } from './deploy.ts'
import { toSettlementError } from './errors.ts'
import type { JobRequestReceipt, OnchainJobsClient } from './onchain-jobs.ts'

export interface CowsayAsk {
  moduleRepo: string
  moduleCommit: string
  message: string
  payment: bigint
  relayerFee: bigint
  /** ms since the epoch */
  deadline: number
  /** ms */
  claimWindow: number
}

export class ExampleCowsayClient {
  readonly address: string

  constructor (readonly jobs: OnchainJobsClient, readonly contract: Contract) {
    this.address = contract.target as string
  }

  /** Deploys one owned by the jobs client's account. */
  static async deploy (jobs: OnchainJobsClient): Promise<ExampleCowsayClient> {
    const artifact = (await loadOnchainJobsArtifacts()).exampleClient
    const { address } = await deployContract(jobs.sender, artifact, [jobs.address, jobs.token.target])
    return await ExampleCowsayClient.at(jobs, address)
  }

  static async at (jobs: OnchainJobsClient, address: string): Promise<ExampleCowsayClient> {
    const artifact = (await loadOnchainJobsArtifacts()).exampleClient
    return new ExampleCowsayClient(jobs, new Contract(address, artifact.abi as never, jobs.wallet))
  }

  /** Sends the contract tokens of the account to pay for its jobs with. */
  async fund (amount: bigint): Promise<SettlementReceipt> {
    return await this.jobs.transact(this.jobs.token, 'transfer', [this.address, amount])
  }

  async ask (a: CowsayAsk): Promise<JobRequestReceipt> {
    const receipt = await this.jobs.transact(this.contract, 'ask', [a.moduleRepo, a.moduleCommit, a.message, a.payment, a.relayerFee, a.deadline, a.claimWindow])
    return { ...receipt, requestId: this.jobs.requestIdIn(receipt) }
  }

  /** The results' CID the contract was called back with; undefined before. */
  async resultsCidOf (requestId: string): Promise<string | undefined> {
    const cid = await this.call('resultsCidOf', requestId) as string
    return cid === '' ? undefined : cid
  }

  /** The cow the contract was called back with (the first bytes of the job's stdout); undefined before. */
  async cowOf (requestId: string): Promise<string | undefined> {
    const cow = await this.call('cowOf', requestId) as string
    return cow === '' ? undefined : cow
  }

  async cancelled (requestId: string): Promise<boolean> {
    return await this.call('cancelled', requestId) as boolean
  }

  private async call (name: string, ...args: unknown[]): Promise<unknown> {
    try {
      return await this.contract.getFunction(name).staticCall(...args)
    } catch (err) {
      throw toSettlementError(err, this.jobs.iface)
    }
  }
}
