/**
 * LilypadJobs, through which contracts ask for jobs: a requester's requests and refunds, a relayer's
 * claims and deliveries, and the requests read back from the chain. Writes go through the account's
 * TxSender (shared with its SettlementClient when attached to one), and every revert comes back as a
 * SettlementError with a code.
 */
import { Contract, getBytes, Wallet, type ContractTransactionReceipt, type Interface, type JsonRpcProvider, type Log } from 'ethers'
import type { JobOffer } from '../protocols/messages/schemas.ts'
import type { Resource } from '../support/lifecycle.ts'
import { loadArtifacts, loadOnchainJobsArtifacts, mergedInterface } from './artifacts.ts'
import type { SettlementClient, SettlementReceipt } from './client.ts'
import { deployOnchainJobs } from './deploy.ts'
import { SettlementError, toSettlementError } from './errors.ts'
import { parseLogs, watchEvents, type WatchOptions } from './events.ts'
import type { Deal, ResultsSubmitted, Signed, SignedDeal } from './evidence.ts'
import { connectProvider } from './provider.ts'
import { TxSender } from './tx-sender.ts'

/**
 * What to run: the strings of a JobOffer (`inputs`: the canonical JSON of the module's inputs); and
 * the first `outputLimit` bytes of which results file to bring back on chain (`outputPath`, e.g.
 * "stdout"), or none where both are empty.
 */
export interface JobSpec {
  moduleRepo: string
  moduleCommit: string
  modulePath: string
  inputs: string
  outputPath: string
  outputLimit: number
}

/** The blocks that prove a request's output from its results' CID (see pathProof). */
export interface OutputProof {
  path: string
  blocks: Uint8Array[]
}

/** the proof a request that asked for no output is delivered with */
export const NO_OUTPUT: OutputProof = { path: '', blocks: [] }

export interface JobTerms {
  /** wei, taken from the requester: the deal's cost to its job creator and the relayer's fee */
  payment: bigint
  relayerFee: bigint
  /** ms since the epoch: delivered until then, refunded after */
  deadline: number
  /** ms a claim keeps other relayers off */
  claimWindow: number
  callbackGasLimit: number
  /** wei each claim stakes: back to its claimant on delivery while it lives (or of its own deal), else the requester's */
  claimBond: bigint
  /** wei: the most of a mediation's fee the relayer is repaid (a mediation costing more is the relayer's loss) */
  maxMediatorFee: bigint
}

export const REQUEST_STATUSES = ['None', 'Open', 'Delivered', 'Refunded'] as const
export type RequestStatus = typeof REQUEST_STATUSES[number]

export interface JobRequestRecord {
  /** None for a request the contract does not know */
  status: RequestStatus
  requester: string
  /** the last relayer to claim it; its claim lives while chain time is before `claimedUntil` */
  claimant: string | undefined
  claimedUntil: number
  terms: JobTerms
}

export interface JobResult {
  resultsCid: string
  dealId: string
  /** the deal's job creator, who was paid */
  relayer: string
}

export interface JobRequestedEvent {
  requestId: string
  requester: string
  spec: JobSpec
  terms: JobTerms
  blockNumber: number
  transactionHash: string
}

export interface JobRequestReceipt extends SettlementReceipt {
  requestId: string
}

export interface DeliveryReceipt extends SettlementReceipt {
  dealId: string
  /** what the requester was called back with of the results file it asked for */
  output: Uint8Array
  /** whether the requester's callback ran to its end */
  callbackOk: boolean
}

export interface OnchainJobsClientOptions {
  rpcUrl: string
  privateKey: string
  jobsAddress: string
  confirmations?: number
  pollingIntervalMs?: number
  chainId?: bigint | number
}

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000'

export class OnchainJobsClient implements Resource {
  readonly address: string

  constructor (
    readonly wallet: Wallet,
    readonly jobs: Contract,
    readonly token: Contract,
    /** knows the errors and events of LilypadJobs, its example client, the settlement and the token */
    readonly iface: Interface,
    readonly sender: TxSender,
    private readonly ownsProvider: boolean
  ) {
    this.address = jobs.target as string
  }

  static async open (options: OnchainJobsClientOptions): Promise<OnchainJobsClient> {
    const provider = await connectProvider(options.rpcUrl, { chainId: options.chainId, pollingIntervalMs: options.pollingIntervalMs })
    const wallet = new Wallet(options.privateKey, provider)
    try {
      const iface = await jobsInterface()
      return await OnchainJobsClient.connect(wallet, options.jobsAddress, new TxSender(wallet, iface, { confirmations: options.confirmations }), true)
    } catch (err) {
      provider.destroy()
      throw err
    }
  }

  /** The same account as a settlement client, sharing its nonces and its provider. */
  static async attach (settlement: SettlementClient, jobsAddress: string): Promise<OnchainJobsClient> {
    return await OnchainJobsClient.connect(settlement.wallet, jobsAddress, settlement.sender, false)
  }

  /** Deploys LilypadJobs for the settlement client's contract, from its account. */
  static async deploy (settlement: SettlementClient): Promise<OnchainJobsClient> {
    const deployed = await deployOnchainJobs(settlement.sender, settlement.address, settlement.token.target as string)
    return await OnchainJobsClient.attach(settlement, deployed.address)
  }

  private static async connect (wallet: Wallet, jobsAddress: string, sender: TxSender, ownsProvider: boolean): Promise<OnchainJobsClient> {
    const [artifacts, jobsArtifacts, iface] = await Promise.all([loadArtifacts(), loadOnchainJobsArtifacts(), jobsInterface()])
    const jobs = new Contract(jobsAddress, jobsArtifacts.jobs.abi as never, wallet)
    let tokenAddress: string
    try {
      tokenAddress = await jobs.getFunction('token').staticCall() as string
    } catch (err) {
      throw new SettlementError('CHAIN_UNAVAILABLE', `no jobs contract answers at ${jobsAddress}: ${toSettlementError(err, iface).message}`)
    }
    const token = new Contract(tokenAddress, artifacts.token.abi as never, wallet)
    return new OnchainJobsClient(wallet, jobs, token, iface, sender, ownsProvider)
  }

  get provider (): JsonRpcProvider {
    return this.wallet.provider as JsonRpcProvider
  }

  async close (): Promise<void> {
    if (this.ownsProvider) this.provider.destroy()
  }

  // ---------------------------------------------------------------- reads

  async requestOf (requestId: string): Promise<JobRequestRecord> {
    const [status, requester, claimant, claimedUntil, terms] = await this.call('requestOf', requestId) as [bigint, string, string, bigint, Record<string, unknown>]
    return {
      status: REQUEST_STATUSES[Number(status)] ?? 'None',
      requester,
      claimant: claimant === ZERO_ADDRESS ? undefined : claimant,
      claimedUntil: Number(claimedUntil),
      terms: termsOf(terms)
    }
  }

  /** A delivered request's results; undefined until it is delivered. */
  async resultOf (requestId: string): Promise<JobResult | undefined> {
    const [resultsCid, dealId, relayer] = await this.call('resultOf', requestId) as [string, string, string]
    return relayer === ZERO_ADDRESS ? undefined : { resultsCid, dealId, relayer }
  }

  /** The first `limit` bytes of the file at `path` under the results `resultsCid`, as the contract reads them from `blocks`. */
  async readOutput (resultsCid: string, proof: OutputProof, limit: number): Promise<Uint8Array> {
    return getBytes(await this.call('readOutput', resultsCid, proof.path, proof.blocks, limit) as string)
  }

  /** The requests made from `fromBlock` on, in chain order. */
  async requestsSince (fromBlock = 0, toBlock?: number): Promise<JobRequestedEvent[]> {
    try {
      const topic = this.iface.getEvent('JobRequested')!.topicHash
      const logs = await this.provider.getLogs({ address: this.address, topics: [topic], fromBlock, ...(toBlock === undefined ? {} : { toBlock }) })
      return this.requestsIn(logs)
    } catch (err) {
      throw toSettlementError(err, this.iface)
    }
  }

  /** The JobRequested events among `logs`, decoded. */
  requestsIn (logs: readonly Log[]): JobRequestedEvent[] {
    return parseLogs(this.iface, this.address, logs).filter(e => e.name === 'JobRequested').map(e => ({
      requestId: String(e.args.requestId),
      requester: String(e.args.requester),
      spec: specOf(e.args.spec as Record<string, unknown>),
      terms: termsOf(e.args.terms as Record<string, unknown>),
      blockNumber: e.blockNumber,
      transactionHash: e.transactionHash
    }))
  }

  watch (options: WatchOptions): () => void {
    return watchEvents(this.provider, this.address, this.iface, options)
  }

  // ---------------------------------------------------------------- writes

  /** Asks for a job as this account, approving the payment first if needed. */
  async requestJob (spec: JobSpec, terms: JobTerms): Promise<JobRequestReceipt> {
    await this.approve(terms.payment)
    const receipt = await this.write('requestJob', [spec, terms])
    return { ...receipt, requestId: this.requestIdIn(receipt) }
  }

  /** The account's tokens: what it pays requests and claim bonds from. */
  async tokenBalance (): Promise<bigint> {
    try {
      return await this.token.getFunction('balanceOf').staticCall(this.wallet.address) as bigint
    } catch (err) {
      throw toSettlementError(err, this.iface)
    }
  }

  /** Lets the jobs contract take `amount` of the account's tokens, if it may not already. */
  private async approve (amount: bigint): Promise<void> {
    if (amount === 0n) return
    const allowance = await this.token.getFunction('allowance').staticCall(this.wallet.address, this.address) as bigint
    if (allowance >= amount) return
    const approve = this.token.getFunction('approve')
    await this.sender.send(async ({ nonce }) => await approve.send(this.address, amount, { nonce }), undefined, this.iface)
  }

  /** The id of the request a receipt made (a request made through a contract, too). */
  requestIdIn (receipt: SettlementReceipt): string {
    const made = receipt.events.find(e => e.name === 'JobRequested')
    if (made === undefined) throw new SettlementError('TRANSACTION_FAILED', `transaction ${receipt.hash} made no request`)
    return String(made.args.requestId)
  }

  /** Claims the request, staking its claim bond (approved first where needed; read from the chain unless given). */
  async claim (requestId: string, bond?: bigint): Promise<SettlementReceipt & { until: number, bond: bigint }> {
    await this.approve(bond ?? (await this.requestOf(requestId)).terms.claimBond)
    const receipt = await this.write('claim', [requestId])
    const claimed = receipt.events.find(e => e.name === 'Claimed')
    return { ...receipt, until: Number(claimed?.args.until ?? 0), bond: BigInt(claimed?.args.bond as bigint ?? 0n) }
  }

  /**
   * Delivers the results of the deal settled for the request, as the settlement holds them (committed
   * or challenged); `offer` is the job offer the deal names.
   */
  async deliver (requestId: string, deal: Deal | SignedDeal, offer: JobOffer, resultsCid: string, output: OutputProof = NO_OUTPUT): Promise<DeliveryReceipt> {
    return delivery(await this.write('deliver', [requestId, dealOf(deal), offer, resultsCid, output]))
  }

  /**
   * Delivers with the provider's signed results of the deal: for a deal accepted with no results on
   * chain (the happy path records none).
   */
  async deliverWithResults (requestId: string, deal: Deal | SignedDeal, offer: JobOffer, results: Signed<ResultsSubmitted>, output: OutputProof = NO_OUTPUT): Promise<DeliveryReceipt> {
    return delivery(await this.write('deliverWithResults', [requestId, dealOf(deal), offer, results.message, results.signature, output]))
  }

  async refund (requestId: string): Promise<SettlementReceipt & { callbackOk: boolean }> {
    const receipt = await this.write('refund', [requestId])
    return { ...receipt, callbackOk: receipt.events.find(e => e.name === 'Refunded')?.args.callbackOk === true }
  }

  // ---------------------------------------------------------------- plumbing

  private async call (name: string, ...args: unknown[]): Promise<unknown> {
    try {
      return await this.jobs.getFunction(name).staticCall(...args)
    } catch (err) {
      throw toSettlementError(err, this.iface)
    }
  }

  private async write (name: string, args: unknown[]): Promise<SettlementReceipt> {
    return await this.transact(this.jobs, name, args)
  }

  /**
   * A write to `contract` from this account; the receipt's events are those of LilypadJobs (a call
   * through another contract, too).
   */
  async transact (contract: Contract, name: string, args: unknown[]): Promise<SettlementReceipt> {
    const fn = contract.getFunction(name)
    const receipt: ContractTransactionReceipt = await this.sender.send(
      async ({ nonce }) => await fn.send(...args, { nonce }),
      async () => await fn.staticCall(...args),
      this.iface
    )
    return {
      hash: receipt.hash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      events: parseLogs(this.iface, this.address, receipt.logs)
    }
  }
}

let merged: Promise<Interface> | undefined

function jobsInterface (): Promise<Interface> {
  merged ??= (async () => {
    const [settlement, jobs] = await Promise.all([loadArtifacts(), loadOnchainJobsArtifacts()])
    return mergedInterface([jobs.jobs, jobs.exampleClient, settlement.settlement, settlement.token])
  })()
  return merged
}

function dealOf (deal: Deal | SignedDeal): Deal {
  return 'deal' in deal ? deal.deal : deal
}

function delivery (receipt: SettlementReceipt): DeliveryReceipt {
  const delivered = receipt.events.find(e => e.name === 'Delivered')
  const output = delivered?.args.output
  return { ...receipt, dealId: String(delivered?.args.dealId), output: typeof output === 'string' ? getBytes(output) : new Uint8Array(), callbackOk: delivered?.args.callbackOk === true }
}

function specOf (s: Record<string, unknown>): JobSpec {
  return {
    moduleRepo: String(s.moduleRepo),
    moduleCommit: String(s.moduleCommit),
    modulePath: String(s.modulePath),
    inputs: String(s.inputs),
    outputPath: String(s.outputPath),
    outputLimit: Number(s.outputLimit)
  }
}

function termsOf (t: Record<string, unknown>): JobTerms {
  return {
    payment: BigInt(t.payment as bigint),
    relayerFee: BigInt(t.relayerFee as bigint),
    deadline: Number(t.deadline),
    claimWindow: Number(t.claimWindow),
    callbackGasLimit: Number(t.callbackGasLimit),
    claimBond: BigInt(t.claimBond as bigint),
    maxMediatorFee: BigInt(t.maxMediatorFee as bigint)
  }
}
