/**
 * Sends one account's transactions: a nonce counter that only advances when a transaction was
 * really sent (ethers' NonceManager also counts those that failed before sending), and waits for
 * the number of confirmations asked for. Sends are serialised; waiting for receipts is not.
 */
import type { ContractTransactionReceipt, ContractTransactionResponse, Interface, Provider, Wallet } from 'ethers'
import { SettlementError, toSettlementError } from './errors.ts'

export interface TxSenderOptions {
  confirmations?: number
  /** how long to wait for the confirmations (default 60 s) */
  timeoutMs?: number
}

export type SendFn = (overrides: { nonce: number }) => Promise<ContractTransactionResponse>

export class TxSender {
  private nextNonce: number | undefined
  private queue: Promise<unknown> = Promise.resolve()
  readonly confirmations: number
  private readonly timeoutMs: number

  constructor (readonly wallet: Wallet, private readonly iface: Interface, options: TxSenderOptions = {}) {
    this.confirmations = options.confirmations ?? 1
    this.timeoutMs = options.timeoutMs ?? 60_000
  }

  private get provider (): Provider {
    if (this.wallet.provider === null) throw new SettlementError('CHAIN_UNAVAILABLE', 'the wallet has no provider')
    return this.wallet.provider
  }

  /**
   * Sends a transaction built by `send`, waits for its confirmations, and returns its receipt. `iface`
   * decodes its reverts when it calls another contract than the one this sender was made for.
   */
  async send (send: SendFn, simulate?: () => Promise<unknown>, iface: Interface = this.iface): Promise<ContractTransactionReceipt> {
    const response = await this.enqueue(async () => {
      this.nextNonce ??= await this.provider.getTransactionCount(this.wallet.address, 'pending')
      try {
        const tx = await send({ nonce: this.nextNonce })
        this.nextNonce += 1
        return tx
      } catch (err) {
        // The nonce may or may not have been used: ask the chain again next time.
        this.nextNonce = undefined
        throw await this.explain(err, simulate, iface)
      }
    })
    let receipt: ContractTransactionReceipt | null
    try {
      receipt = await response.wait(this.confirmations, this.timeoutMs)
    } catch (err) {
      throw await this.explain(err, simulate, iface)
    }
    if (receipt === null) throw new SettlementError('TRANSACTION_FAILED', `transaction ${response.hash} was not mined`)
    return receipt
  }

  private enqueue<T> (job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job)
    this.queue = run.catch(() => undefined)
    return run
  }

  /** Decodes the revert; when ethers kept no revert data, replays the call to get it. */
  private async explain (err: unknown, simulate: (() => Promise<unknown>) | undefined, iface: Interface): Promise<SettlementError> {
    const first = toSettlementError(err, iface)
    if (first.code !== 'TRANSACTION_FAILED' || simulate === undefined) return first
    try {
      await simulate()
    } catch (again) {
      const second = toSettlementError(again, iface)
      if (second.code !== 'TRANSACTION_FAILED') return second
    }
    return first
  }
}
