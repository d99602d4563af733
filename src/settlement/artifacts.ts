/** The compiled contracts: built from contracts/src on first use and cached in contracts/build. */
import { Interface } from 'ethers'
import { ensureContractsBuilt, readArtifact, type ContractArtifact } from '../../contracts/build.ts'

export type { ContractArtifact }

export interface SettlementArtifacts {
  token: ContractArtifact
  settlement: ContractArtifact
}

let loaded: Promise<SettlementArtifacts> | undefined

export function loadArtifacts (): Promise<SettlementArtifacts> {
  loaded ??= (async () => {
    await ensureContractsBuilt()
    return { token: readArtifact('LilypadToken'), settlement: readArtifact('LilypadSettlement') }
  })()
  return loaded
}

/** One interface that knows the errors and events of both contracts, for decoding reverts and logs. */
export function combinedInterface (a: SettlementArtifacts): Interface {
  const seen = new Set<string>()
  const fragments = [...a.settlement.abi, ...a.token.abi].filter(f => {
    const frag = f as { type: string, name?: string }
    if (frag.type === 'constructor') return false
    const key = `${frag.type}:${frag.name ?? ''}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return new Interface(fragments as never)
}
