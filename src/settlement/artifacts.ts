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

export interface OnchainJobsArtifacts {
  jobs: ContractArtifact
  exampleClient: ContractArtifact
}

let loadedJobs: Promise<OnchainJobsArtifacts> | undefined

/** LilypadJobs, through which contracts ask for jobs, and the example contract that asks it. */
export function loadOnchainJobsArtifacts (): Promise<OnchainJobsArtifacts> {
  loadedJobs ??= (async () => {
    await ensureContractsBuilt()
    return { jobs: readArtifact('LilypadJobs'), exampleClient: readArtifact('ExampleCowsayClient') }
  })()
  return loadedJobs
}

/** One interface that knows the errors and events of both contracts, for decoding reverts and logs. */
export function combinedInterface (a: SettlementArtifacts): Interface {
  return mergedInterface([a.settlement, a.token])
}

/** One interface of several contracts: the first fragment of each name wins. */
export function mergedInterface (artifacts: ContractArtifact[]): Interface {
  const seen = new Set<string>()
  const fragments = artifacts.flatMap(a => a.abi).filter(f => {
    const frag = f as { type: string, name?: string }
    if (frag.type === 'constructor') return false
    const key = `${frag.type}:${frag.name ?? ''}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
  return new Interface(fragments as never)
}
