/**
 * The chain adapter: one account's view of the settlement contract. Every write goes through one
 * TxSender (nonces, confirmations) and every revert comes back as a SettlementError with a code.
 */
import { Contract, getAddress, Signature, Wallet, zeroPadValue, type ContractTransactionReceipt, type Interface, type JsonRpcProvider } from 'ethers'
import { DEAL_STATES, type DealState } from '../state-machines/deal-states.ts'
import { combinedInterface, loadArtifacts } from './artifacts.ts'
import { SettlementError, errorCodeOfSelector, toSettlementError, type SettlementErrorCode } from './errors.ts'
import { parseLogs, watchEvents, type SettlementEvent, type WatchOptions } from './events.ts'
import {
  messageId, settlementDomain,
  type AcceptedDeal, type Deal, type MediationVerdict, type ResultsAccepted, type ResultsChallenged, type ResultsSubmitted, type Signed, type SignedDeal
} from './evidence.ts'
import type { LilypadDomain } from '../protocols/messages/eip712-types.ts'
import { connectProvider } from './provider.ts'
import { TxSender } from './tx-sender.ts'
import type { Resource } from '../support/lifecycle.ts'

export interface SettlementClientOptions {
  rpcUrl: string
  privateKey: string
  settlementAddress: string
  /** block confirmations to wait for (default 1) */
  confirmations?: number
  pollingIntervalMs?: number
  chainId?: bigint | number
  /** told of every write to the contract, once it is mined or has failed (for metrics) */
  onTransaction?: (tx: TransactionReport) => void
}

/** A write to the settlement contract: mined (with the gas it used), or failed with a code, sent or not. */
export interface TransactionReport {
  /** the contract method */
  method: string
  gasUsed?: bigint
  /** why it failed; absent when it was mined */
  code?: SettlementErrorCode
}

export interface SettlementReceipt {
  hash: string
  blockNumber: number
  gasUsed: bigint
  events: SettlementEvent[]
}

export interface BatchReceipt extends SettlementReceipt {
  /** entries the contract left unsettled, with the code settleAccepted would have failed with */
  failed: Array<{ dealId: string, reason: SettlementErrorCode }>
}

export interface DealRecord {
  state: DealState
  /** the outcome that settled the deal, when state is Settled */
  outcome: DealState | undefined
  locked: boolean
  mediator: string | undefined
  /** the mediator took the case: it answers for the mediate deadline */
  caseTaken: boolean
}

/** An act of an account in a deal, or a payment to it, as the chain's events hold it. */
export interface AccountDealEvent {
  dealId: string
  what: 'paid' | 'committed results' | 'took the case'
  /** for a payment, wei */
  amount?: bigint
  blockNumber: number
  transactionHash: string
}

export interface MediatorTerms {
  registered: boolean
  /** the smallest deal fee that binds the mediator now, wei */
  fee: bigint
  /** its deposit, less a withdrawal it asked for, wei */
  stake: bigint
}

const ZERO_ADDRESS = '0x0000000000000000000000000000000000000000'

export class SettlementClient implements Resource {
  readonly address: string
  readonly domain: LilypadDomain
  /** every write of this account goes through it: a client of another contract for the same account shares it */
  readonly sender: TxSender
  private readonly onTransaction: ((tx: TransactionReport) => void) | undefined

  constructor (
    readonly wallet: Wallet,
    readonly settlement: Contract,
    readonly token: Contract,
    readonly iface: Interface,
    chainId: bigint,
    options: { confirmations?: number, onTransaction?: (tx: TransactionReport) => void } = {}
  ) {
    this.address = settlement.target as string
    this.domain = settlementDomain(chainId, this.address)
    this.sender = new TxSender(wallet, iface, options)
    this.onTransaction = options.onTransaction
  }

  static async open (options: SettlementClientOptions): Promise<SettlementClient> {
    const artifacts = await loadArtifacts()
    const provider = await connectProvider(options.rpcUrl, { chainId: options.chainId, pollingIntervalMs: options.pollingIntervalMs })
    const wallet = new Wallet(options.privateKey, provider)
    const iface = combinedInterface(artifacts)
    const settlement = new Contract(options.settlementAddress, artifacts.settlement.abi as never, wallet)
    let tokenAddress: string
    try {
      tokenAddress = await settlement.getFunction('token').staticCall() as string
    } catch (err) {
      provider.destroy()
      throw new SettlementError('CHAIN_UNAVAILABLE', `no settlement contract answers at ${options.settlementAddress}: ${toSettlementError(err, iface).message}`)
    }
    const token = new Contract(tokenAddress, artifacts.token.abi as never, wallet)
    const { chainId } = await provider.getNetwork()
    return new SettlementClient(wallet, settlement, token, iface, chainId, { confirmations: options.confirmations, onTransaction: options.onTransaction })
  }

  get provider (): JsonRpcProvider {
    return this.wallet.provider as JsonRpcProvider
  }

  async close (): Promise<void> {
    this.provider.destroy()
  }

  // ---------------------------------------------------------------- reads

  dealId (deal: Deal): string {
    return messageId(this.domain, 'Deal', deal)
  }

  async balanceOf (account: string = this.wallet.address): Promise<bigint> {
    return await this.call('balanceOf', account) as bigint
  }

  async tokenBalanceOf (account: string = this.wallet.address): Promise<bigint> {
    try {
      return await this.token.getFunction('balanceOf').staticCall(account) as bigint
    } catch (err) {
      throw toSettlementError(err, this.iface)
    }
  }

  async withdrawalOf (account: string = this.wallet.address): Promise<{ amount: bigint, unlockAt: number } | undefined> {
    const [amount, unlockAt] = await this.call('withdrawalOf', account) as [bigint, bigint]
    return unlockAt === 0n ? undefined : { amount, unlockAt: Number(unlockAt) }
  }

  /** A mediator's registration: the fee that binds it now, and its stake (its deposit, less a withdrawal it asked for). */
  async mediatorOf (account: string = this.wallet.address): Promise<MediatorTerms> {
    const [registered, fee, stake] = await this.call('mediatorOf', account) as [boolean, bigint, bigint]
    return { registered, fee, stake }
  }

  async withdrawDelaySeconds (): Promise<number> {
    return Number(await this.call('withdrawDelay'))
  }

  async dealRecord (dealId: string): Promise<DealRecord> {
    const [state, outcome, locked, mediator, caseTaken] = await this.call('dealRecord', dealId) as [bigint, bigint, boolean, string, boolean]
    const name = stateName(state)
    return {
      state: name,
      outcome: name === 'Settled' ? stateName(outcome) : undefined,
      locked,
      mediator: mediator === ZERO_ADDRESS ? undefined : mediator,
      caseTaken
    }
  }

  /**
   * The deals the chain holds an act of `account` in, or a payment to it: its payouts, its results
   * commitments, the cases it took as a mediator. In block order, from `fromBlock` on.
   */
  async dealEventsOf (account: string, fromBlock = 0): Promise<AccountDealEvent[]> {
    const topic = zeroPadValue(getAddress(account), 32)
    const about = [['Payout', 'paid'], ['ResultsCommitted', 'committed results'], ['CaseTaken', 'took the case']] as const
    try {
      const found: AccountDealEvent[] = []
      for (const [event, what] of about) {
        const logs = await this.provider.getLogs({ address: this.address, topics: [this.iface.getEvent(event)!.topicHash, null, topic], fromBlock })
        for (const e of parseLogs(this.iface, this.address, logs)) {
          found.push({ dealId: String(e.args.dealId), what, blockNumber: e.blockNumber, transactionHash: e.transactionHash, ...(event === 'Payout' ? { amount: e.args.amount as bigint } : {}) })
        }
      }
      return found.sort((a, b) => a.blockNumber - b.blockNumber)
    } catch (err) {
      throw toSettlementError(err, this.iface)
    }
  }

  /** The keccak256 of the results CID the chain holds for a deal (zero until results are committed or challenged). */
  async resultsCidHash (dealId: string): Promise<string> {
    return await this.call('resultsCidHash', dealId) as string
  }

  /**
   * The job creator's challenge of a deal as it was posted on chain, read back from the transaction
   * that posted it: a provider the creator never told learns of the challenge there.
   */
  async challengeOf (dealId: string, notBeforeMs = 0): Promise<Signed<ResultsChallenged> | undefined> {
    const args = await this.argumentsOf('Challenged', 'challengeResults', dealId, notBeforeMs)
    if (args === undefined) return undefined
    const c = args[1] as Record<string, unknown>
    const challenge: ResultsChallenged = {
      author: String(c.author), nonce: String(c.nonce), expiry: Number(c.expiry), dealId: String(c.dealId), resultsCid: String(c.resultsCid)
    }
    return { message: challenge, signature: Signature.from(String(args[2])).serialized }
  }

  /**
   * The provider's results of a deal as it committed them on chain, read back from the transaction
   * that committed them: a creator the provider never sent them to learns of them there.
   */
  async commitmentOf (dealId: string, notBeforeMs = 0): Promise<Signed<ResultsSubmitted> | undefined> {
    const args = await this.argumentsOf('ResultsCommitted', 'commitResults', dealId, notBeforeMs)
    if (args === undefined) return undefined
    const r = args[1] as Record<string, unknown>
    const results: ResultsSubmitted = {
      author: String(r.author), nonce: String(r.nonce), expiry: Number(r.expiry), dealId: String(r.dealId), resultsCid: String(r.resultsCid),
      exitCode: Number(r.exitCode), cpuMs: Number(r.cpuMs), durationMs: Number(r.durationMs)
    }
    return { message: results, signature: Signature.from(String(args[2])).serialized }
  }

  /**
   * The arguments of the last call of `method` that emitted `event` for a deal, looked for in the
   * blocks from `notBeforeMs` on (the deal's own time: a node need not read the chain's whole history).
   */
  private async argumentsOf (event: string, method: string, dealId: string, notBeforeMs: number): Promise<readonly unknown[] | undefined> {
    try {
      const topic = this.iface.getEvent(event)?.topicHash
      const fromBlock = notBeforeMs > 0 ? await this.firstBlockFrom(Math.floor(notBeforeMs / 1000)) : 0
      if (fromBlock > await this.provider.getBlockNumber()) return undefined
      const logs = await this.provider.getLogs({ address: this.address, topics: [topic ?? null, dealId], fromBlock })
      const last = logs.at(-1)
      if (last === undefined) return undefined
      const tx = await this.provider.getTransaction(last.transactionHash)
      const call = tx === null ? null : this.iface.parseTransaction({ data: tx.data, value: tx.value })
      // a call made through another contract (a wallet) does not carry the arguments on top
      return call?.name === method ? call.args : undefined
    } catch (err) {
      throw toSettlementError(err, this.iface)
    }
  }

  /** The first block stamped at or after `seconds` (one past the latest if none is), by bisection on block times. */
  private async firstBlockFrom (seconds: number): Promise<number> {
    let high = await this.provider.getBlockNumber() + 1
    let low = 0
    while (low < high) {
      const middle = Math.floor((low + high) / 2)
      const block = await this.provider.getBlock(middle)
      if (block === null || block.timestamp < seconds) low = middle + 1
      else high = middle
    }
    return low
  }

  // ---------------------------------------------------------------- deposits

  /** Approves the contract for `amount` if needed, then deposits it. */
  async deposit (amount: bigint): Promise<SettlementReceipt> {
    const allowance = await this.token.getFunction('allowance').staticCall(this.wallet.address, this.address) as bigint
    if (allowance < amount) {
      const approve = this.token.getFunction('approve')
      await this.sender.send(async ({ nonce }) => await approve.send(this.address, amount, { nonce }))
    }
    return await this.write('deposit', [amount])
  }

  async requestWithdrawal (amount: bigint): Promise<SettlementReceipt> {
    return await this.write('requestWithdrawal', [amount])
  }

  async withdraw (): Promise<SettlementReceipt> {
    return await this.write('withdraw', [])
  }

  /**
   * Registers this account as a mediator bound by deals that pay at least `fee`: slashed, from its
   * deposit, when it lets such a deal's mediate deadline pass. A higher fee than the one in force
   * binds only after the withdrawal delay.
   */
  async registerMediator (fee: bigint): Promise<SettlementReceipt> {
    return await this.write('registerMediator', [fee])
  }

  // ---------------------------------------------------------------- settlement

  async settleAccepted (signed: SignedDeal, acceptance: ResultsAccepted, signature: string): Promise<SettlementReceipt> {
    return await this.write('settleAccepted', [this.acceptedEvidence(signed), acceptance, compact(signature)])
  }

  /**
   * Settles many accepted deals in one transaction. Deals settled meanwhile are skipped; an entry the
   * contract cannot settle (bad evidence, a deposit that falls short) is left out and reported in
   * `failed`, for the caller to retry or to take another path.
   */
  async settleBatch (items: AcceptedDeal[]): Promise<BatchReceipt> {
    if (items.length === 0) throw new SettlementError('BAD_EVIDENCE', 'an empty batch')
    const receipt = await this.write('settleBatch', [items.map(i => ({
      signed: this.acceptedEvidence(i.signed), acceptance: i.acceptance, acceptanceSignature: compact(i.acceptanceSignature)
    }))])
    const failed = receipt.events.filter(e => e.name === 'SettlementFailed').map(e => ({
      dealId: e.args.dealId as string,
      reason: errorCodeOfSelector(e.args.reason as string, this.iface)
    }))
    return { ...receipt, failed }
  }

  async lockDeal (signed: SignedDeal): Promise<SettlementReceipt> {
    return await this.write('lockDeal', [this.evidence(signed)])
  }

  async commitResults (signed: SignedDeal, results: ResultsSubmitted, signature: string): Promise<SettlementReceipt> {
    return await this.write('commitResults', [this.evidence(signed), results, compact(signature)])
  }

  /**
   * `results` is the provider's signed ResultsSubmitted for the challenged CID: the contract needs it
   * unless the provider committed that CID, and settles the deal against the provider at once if it
   * committed another.
   */
  async challengeResults (signed: SignedDeal, challenge: ResultsChallenged, signature: string, results: ResultsSubmitted, resultsSignature: string): Promise<SettlementReceipt> {
    return await this.write('challengeResults', [this.evidence(signed), challenge, compact(signature), results, compact(resultsSignature)])
  }

  /**
   * The judge of a deal in mediation: the mediator that took the case, or the one drawn to take it
   * next (read at the pending block, since the draw uses the hash of a block after the challenge).
   * None when the deal is not in mediation.
   */
  async judgeOf (signed: SignedDeal): Promise<string | undefined> {
    const judge = await this.call('judgeOf', signed.deal, { blockTag: 'pending' }) as string
    return judge === ZERO_ADDRESS ? undefined : judge
  }

  /** The drawn judge takes the case of a challenged deal: it answers for the mediate deadline from then on. */
  async takeCase (signed: SignedDeal): Promise<SettlementReceipt> {
    return await this.write('takeCase', [this.evidence(signed)])
  }

  async settleVerdict (signed: SignedDeal, verdict: MediationVerdict, signature: string): Promise<SettlementReceipt> {
    return await this.write('settleVerdict', [this.evidence(signed), verdict, compact(signature)])
  }

  /** The job creator's claim after the submit deadline, or the provider's after the mediate deadline. */
  async claimTimeoutSubmit (signed: SignedDeal): Promise<SettlementReceipt> {
    return await this.write('claimTimeoutSubmit', [this.evidence(signed)])
  }

  async claimTimeoutJudge (signed: SignedDeal): Promise<SettlementReceipt> {
    return await this.write('claimTimeoutJudge', [this.evidence(signed)])
  }

  async claimTimeoutMediate (signed: SignedDeal): Promise<SettlementReceipt> {
    return await this.write('claimTimeoutMediate', [this.evidence(signed)])
  }

  /** On the happy path the creator's signed acceptance stands for its deal signature, which is left out. */
  private acceptedEvidence (signed: SignedDeal): SignedDeal {
    return { ...this.evidence(signed), jobCreatorSignature: '0x' }
  }

  /**
   * The deal as calldata: signatures in their 64-byte compact form, and none for this account's own
   * side of the deal, since the contract takes the sender's transaction as its consent.
   */
  private evidence (signed: SignedDeal): SignedDeal {
    const me = this.wallet.address.toLowerCase()
    return {
      deal: signed.deal,
      jobCreatorSignature: signed.deal.jobCreator.toLowerCase() === me ? '0x' : compact(signed.jobCreatorSignature),
      resourceProviderSignature: signed.deal.resourceProvider.toLowerCase() === me ? '0x' : compact(signed.resourceProviderSignature)
    }
  }

  // ---------------------------------------------------------------- events

  watch (options: WatchOptions): () => void {
    return watchEvents(this.provider, this.address, this.iface, options)
  }

  // ---------------------------------------------------------------- plumbing

  private async call (name: string, ...args: unknown[]): Promise<unknown> {
    try {
      return await this.settlement.getFunction(name).staticCall(...args)
    } catch (err) {
      throw toSettlementError(err, this.iface)
    }
  }

  private async write (name: string, args: unknown[]): Promise<SettlementReceipt> {
    const fn = this.settlement.getFunction(name)
    let receipt: ContractTransactionReceipt
    try {
      receipt = await this.sender.send(
        async ({ nonce }) => await fn.send(...args, { nonce }),
        async () => await fn.staticCall(...args)
      )
    } catch (err) {
      this.onTransaction?.({ method: name, code: err instanceof SettlementError ? err.code : toSettlementError(err, this.iface).code })
      throw err
    }
    this.onTransaction?.({ method: name, gasUsed: receipt.gasUsed })
    return {
      hash: receipt.hash,
      blockNumber: receipt.blockNumber,
      gasUsed: receipt.gasUsed,
      events: parseLogs(this.iface, this.address, receipt.logs)
    }
  }
}

/** A 65-byte signature as its 64-byte EIP-2098 form; anything else is passed on for the contract to judge. */
function compact (signature: string): string {
  try {
    return Signature.from(signature).compactSerialized
  } catch {
    return signature
  }
}

function stateName (index: bigint): DealState {
  const name = DEAL_STATES[Number(index)]
  if (name === undefined) throw new SettlementError('REVERTED', `the contract returned an unknown deal state ${index}`)
  return name
}
