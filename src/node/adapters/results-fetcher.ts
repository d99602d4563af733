import type { Logger } from 'pino'
import type { ResultsFetcher } from '../../actors/roles/effects/results.ts'
import { parseCid } from '../../executor/results/cid.ts'
import type { ResultsExchange } from '../../executor/results/exchange.ts'
import { ResultsError } from '../../executor/results/errors.ts'
import type { MeshNode } from '../../protocols/mesh/mesh-node.ts'
import type { MeshTransport } from './mesh-transport.ts'

/** How often a fetch checks that it is still connected to the party holding the results. */
const REDIAL_MS = 2_000
/** Each attempt lasts this long, then starts afresh (the holder dialled again, and the peers asked anew). */
const ATTEMPT_MS = 15_000
/** How long a fetch keeps trying in all. */
const FETCH_BUDGET_MS = 10 * 60_000

/**
 * Results are fetched by CID from the party that holds them, then from the peers the node is
 * connected to (exchange.ts). The holder may be down for a while (a restart) or not connected at
 * all: while the fetch runs, the node keeps dialling it (by its address's peer id: peer store, then
 * the mesh's DHT), and the exchange asks it again once connected. An attempt that times out is made
 * again, until the fetch's budget is spent; results that do not match their CID end it at once.
 */
export function resultsFetcher (mesh: MeshNode, transport: MeshTransport, exchange: ResultsExchange, logger: Logger): ResultsFetcher {
  return {
    fetch: async (cid, from, dealId, signal) => {
      const dialOnce = async (): Promise<void> => {
        const peer = await transport.peerOf(from)
        if (mesh.libp2p.getConnections(peer).length === 0) await mesh.libp2p.dial(peer, { signal })
      }
      const redial = (): void => { dialOnce().catch(err => logger.debug({ err, from, dealId }, 'results holder not reachable yet')) }
      redial()
      const timer = setInterval(redial, REDIAL_MS)
      const until = Date.now() + FETCH_BUDGET_MS
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            const holder = await transport.peerOf(from).catch(() => undefined)
            await exchange.fetch(parseCid(cid), { dealId, signal, holder, timeoutMs: Math.min(ATTEMPT_MS, Math.max(1, until - Date.now())) })
            return true
          } catch (err) {
            const again = isResultsError(err, 'RESULTS_FETCH_TIMEOUT') && !signal.aborted && Date.now() < until
            if (!again) throw err
            logger.info({ cid, dealId, attempt }, 'results not here yet: asking again')
          }
        }
      } catch (err) {
        logger.warn({ err, cid, dealId }, 'results fetch failed')
        return false
      } finally {
        clearInterval(timer)
      }
    }
  }
}

function isResultsError (err: unknown, code: ResultsError['code']): boolean {
  return err instanceof ResultsError && err.code === code
}
