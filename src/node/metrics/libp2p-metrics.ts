import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Registry } from 'prom-client'
import type { Libp2pNodeOptions } from '../../protocols/mesh/libp2p-node.ts'

/**
 * libp2p's own metrics (connections, streams, bytes by protocol, gossipsub, the DHT) and the
 * process's (CPU, memory, event loop), on the node's registry. The package also clears prom-client's
 * global registry when it starts: nothing here uses that one.
 */
export function libp2pMetrics (registry: Registry): NonNullable<Libp2pNodeOptions['metrics']> {
  return prometheusMetrics({ registry })
}
