/**
 * A JSON-RPC provider tuned as ECOSYSTEM.md measured: static network, short polling, no batching.
 * ethers also caches identical requests for 250 ms by default; that returns a stale nonce or a stale
 * revert right after a transaction or a change of the chain's clock, so the cache is off.
 */
import { Interface, JsonRpcProvider, Network } from 'ethers'
import { toSettlementError } from './errors.ts'

export interface ProviderOptions {
  /** known chain id: skips asking the node */
  chainId?: bigint | number
  pollingIntervalMs?: number
}

export async function connectProvider (rpcUrl: string, options: ProviderOptions = {}): Promise<JsonRpcProvider> {
  let chainId = options.chainId
  if (chainId === undefined) {
    const probe = new JsonRpcProvider(rpcUrl, undefined, { batchMaxCount: 1, staticNetwork: true })
    try {
      chainId = BigInt(await probe.send('eth_chainId', []) as string)
    } catch (err) {
      throw toSettlementError(err, new Interface([]))
    } finally {
      probe.destroy()
    }
  }
  const network = Network.from(chainId)
  return new JsonRpcProvider(rpcUrl, network, {
    staticNetwork: network,
    batchMaxCount: 1,
    cacheTimeout: -1,
    pollingInterval: options.pollingIntervalMs ?? 50
  })
}
