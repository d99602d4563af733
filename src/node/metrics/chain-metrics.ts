import { Counter, type Registry } from 'prom-client'
import type { TransactionReport } from '../../settlement/client.ts'

/** The node's writes to the settlement contract, and the gas they cost. */
export class ChainMetrics {
  private readonly transactions: Counter<'method' | 'result'>
  private readonly gas: Counter<'method'>

  constructor (registry: Registry) {
    const registers = [registry]
    this.transactions = new Counter({
      name: 'lilypad_chain_transactions_total',
      help: 'Writes of this node to the settlement contract, by method and result: ok (mined), or the code it failed with (refused before sending, or reverted)',
      labelNames: ['method', 'result'],
      registers
    })
    this.gas = new Counter({ name: 'lilypad_chain_gas_used_total', help: 'Gas used by this node\'s mined settlement transactions, by method', labelNames: ['method'], registers })
  }

  record ({ method, gasUsed, code }: TransactionReport): void {
    this.transactions.inc({ method, result: code ?? 'ok' })
    if (gasUsed !== undefined) this.gas.inc({ method }, Number(gasUsed))
  }
}
