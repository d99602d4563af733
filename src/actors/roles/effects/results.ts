import type { EffectHandlers } from '../../runtime/actor-runtime.ts'

/** Fetches results by CID from the party that holds them, verifies them and keeps a copy. */
export interface ResultsFetcher {
  /** resolves false when they cannot be had or do not match the CID; never for a transient error it can retry */
  fetch (cid: string, from: string, dealId: string, signal: AbortSignal): Promise<boolean>
}

export function resultsEffects (fetcher: ResultsFetcher): EffectHandlers<'results.fetch' | 'results.provide'> {
  return {
    'results.fetch': async (output, { signal }) => {
      const ok = await fetcher.fetch(String(output.resultsCid), String(output.from), String(output.dealId), signal)
      return { type: 'results.fetched', ok }
    },
    // results are served from the node's blockstore to whoever asks by CID: nothing more to do
    'results.provide': async () => {}
  }
}
