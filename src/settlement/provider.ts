/**
 * A JSON-RPC provider tuned as ECOSYSTEM.md measured: static network, short polling, no batching.
 * ethers also caches identical requests for 250 ms by default; that returns a stale nonce or a stale
 * revert right after a transaction or a change of the chain's clock, so the cache is off.
 */
import { FetchRequest, JsonRpcProvider, Network } from 'ethers'
import { SettlementError } from './errors.ts'

export interface ProviderOptions {
  /** known chain id: skips asking the node */
  chainId?: bigint | number
  pollingIntervalMs?: number
}

export async function connectProvider (rpcUrl: string, options: ProviderOptions = {}): Promise<JsonRpcProvider> {
  const chainId = options.chainId ?? await chainIdAt(rpcUrl)
  const network = Network.from(chainId)
  return new JsonRpcProvider(rpcUrl, network, {
    staticNetwork: network,
    batchMaxCount: 1,
    cacheTimeout: -1,
    pollingInterval: options.pollingIntervalMs ?? 50
  })
}

/**
 * The chain id the node at `rpcUrl` answers with, asked once with a plain request: an ethers provider
 * asked first retries on its own and prints to the console while no node answers.
 */
async function chainIdAt (rpcUrl: string): Promise<bigint> {
  let answer: { result?: unknown, error?: { message?: string } }
  try {
    const request = new FetchRequest(rpcUrl)
    request.timeout = 10_000
    request.setHeader('content-type', 'application/json')
    request.body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] })
    const response = await request.send()
    response.assertOk()
    answer = response.bodyJson as typeof answer
  } catch (err) {
    const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as { shortMessage?: string }).shortMessage ?? (err as Error).message
    throw new SettlementError('CHAIN_UNAVAILABLE', `no chain answers at ${rpcUrl} (${reason})`)
  }
  if (typeof answer.result !== 'string') throw new SettlementError('CHAIN_UNAVAILABLE', `${rpcUrl} answered eth_chainId without a chain id${answer.error?.message === undefined ? '' : `: ${answer.error.message}`}`)
  return BigInt(answer.result)
}
