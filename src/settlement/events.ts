/** Settlement events: parsed from receipts, or watched by polling the chain's logs. */
import type { Interface, Log, Provider } from 'ethers'

export interface SettlementEvent {
  name: string
  args: Record<string, unknown>
  blockNumber: number
  transactionHash: string
  logIndex: number
}

export function parseLogs (iface: Interface, address: string, logs: readonly Log[]): SettlementEvent[] {
  const events: SettlementEvent[] = []
  for (const log of logs) {
    if (log.address.toLowerCase() !== address.toLowerCase()) continue
    const parsed = iface.parseLog({ topics: [...log.topics], data: log.data })
    if (parsed === null) continue
    const args: Record<string, unknown> = {}
    parsed.fragment.inputs.forEach((input, i) => { args[input.name] = parsed.args[i] })
    events.push({ name: parsed.name, args, blockNumber: log.blockNumber, transactionHash: log.transactionHash, logIndex: log.index })
  }
  return events
}

export interface WatchOptions {
  /** first block to report (default: the next block) */
  fromBlock?: number
  pollingIntervalMs?: number
  signal?: AbortSignal
  onEvent: (event: SettlementEvent) => void | Promise<void>
  onError?: (err: unknown) => void
}

/**
 * Calls `onEvent` for every event of the contract, in chain order, from `fromBlock` on, until the
 * signal aborts. Returns a function that stops watching. Resumable: a caller that records the last
 * block it handled passes the next one as `fromBlock`.
 */
export function watchEvents (provider: Provider, address: string, iface: Interface, options: WatchOptions): () => void {
  let stopped = false
  let next = options.fromBlock
  const interval = options.pollingIntervalMs ?? 100
  let timer: NodeJS.Timeout | undefined
  const stop = (): void => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
  }
  options.signal?.addEventListener('abort', stop, { once: true })
  const poll = async (): Promise<void> => {
    try {
      const head = await provider.getBlockNumber()
      next ??= head + 1
      if (head >= next) {
        const logs = await provider.getLogs({ address, fromBlock: next, toBlock: head })
        for (const event of parseLogs(iface, address, logs)) {
          if (stopped) return
          await options.onEvent(event)
        }
        next = head + 1
      }
    } catch (err) {
      options.onError?.(err)
    }
    if (!stopped) timer = setTimeout(() => { void poll() }, interval)
  }
  void poll()
  return stop
}
