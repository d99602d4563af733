import { resultsGateway } from '../../executor/results/gateway.ts'
import type { Route } from './routes.ts'

/**
 * The results this node holds, by CID, on its API (`/ipfs/<cid>`): on a job-creator node, the
 * results its jobs fetched, for `lilypad jobs logs` and `lilypad jobs get` (which verifies every
 * block against the CID). The public gateway (results-server.ts) serves the same to the network.
 */
export const resultsRoutes: Route = async (req, res, api) => {
  return await resultsGateway(api.node.results.blockstore)(req, res)
}
