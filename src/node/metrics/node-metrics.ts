import { Registry } from 'prom-client'
import type { TransactionReport } from '../../settlement/client.ts'
import { ChainMetrics } from './chain-metrics.ts'
import { DealMetrics } from './deal-metrics.ts'
import { EffectMetrics } from './effect-metrics.ts'
import type { MetricSources } from './metric-sources.ts'
import { registerNodeGauges } from './node-gauges.ts'

/**
 * A node's Prometheus metrics (`lilypad_*`), on a registry of its own: several nodes may share a
 * process. Made before the node's parts, so the chain client and libp2p report to it from their
 * start; it follows the machines once they run.
 */
export class NodeMetrics {
  readonly registry = new Registry()
  private readonly chain = new ChainMetrics(this.registry)
  private following = false

  /** A write to the settlement contract, mined or failed. */
  chainTransaction (tx: TransactionReport): void {
    this.chain.record(tx)
  }

  /** Follows the node's machines from now on, and reads what it holds at each scrape; returns what stops the following. */
  follow (sources: MetricSources): () => void {
    if (this.following) throw new Error('the metrics follow one node')
    this.following = true
    const deals = new DealMetrics(this.registry, sources.activity, sources.deals)
    const effects = new EffectMetrics(this.registry)
    registerNodeGauges(this.registry, sources.node)
    return sources.activity.subscribe((activity) => {
      if (activity.kind === 'deal') deals.record(activity)
      else effects.record(activity)
    })
  }

  /** The exposition text of every metric. */
  async scrape (): Promise<string> {
    return await this.registry.metrics()
  }

  get contentType (): string {
    return this.registry.contentType
  }
}
