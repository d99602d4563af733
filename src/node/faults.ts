import type { EventLog } from '../actors/eventlog/event-log.ts'

/**
 * Test-network faults: switches that make a node misbehave on purpose, so that the paths which
 * punish misbehaviour can be exercised end to end. They are refused on any other network, and a
 * node that runs with one writes it into its event log, so its audit shows it.
 */
export const TEST_NETWORKS: readonly string[] = ['devnet', 'test']

/** The log record a node writes at start for each fault switched on. */
export const FAULT_RECORD = 'fault'

export type Fault =
  /** a provider alters its outputs before computing their CID */
  | 'corrupt-outputs'
  /** a job creator's check of the results alters its own re-run, so it challenges honest results */
  | 'challenge-honest-results'

export class FaultRefusedError extends Error {
  override readonly name = 'FaultRefusedError'
  readonly code = 'ERR_FAULT_REFUSED'
}

export function isTestNetwork (network: string): boolean {
  return TEST_NETWORKS.includes(network)
}

/** Throws unless `network` is a test network. */
export function assertFaultAllowed (fault: Fault, network: string): void {
  if (!isTestNetwork(network)) {
    throw new FaultRefusedError(`the ${fault} fault is for test networks only (${TEST_NETWORKS.join(', ')}), not ${network}`)
  }
}

export async function recordFault (log: EventLog, fault: Fault, detail: { network: string, roles: readonly string[] }): Promise<void> {
  await log.append([{ type: FAULT_RECORD, data: { fault, network: detail.network, roles: [...detail.roles] } }])
}
