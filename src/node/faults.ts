import type { EventLog } from '../actors/eventlog/event-log.ts'
import type { SettlementCalls } from '../actors/roles/effects/chain.ts'
import type { MessageTransport } from '../actors/roles/transport.ts'
import type { Deal } from '../protocols/messages/schemas.ts'

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
  /** a job creator tells only the provider of its challenges: not the mediator, not the chain */
  | 'wire-only-challenge'
  /** a job creator posts its challenges on chain and tells no one */
  | 'chain-only-challenge'

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

/**
 * The challenge faults, as wrappers of the node's chain client and transport. With
 * `wire-only-challenge` a job creator's challenges reach the provider alone and never the chain, as
 * a creator that hopes the provider drops its duties and the mediator's silence refunds it; with
 * `chain-only-challenge` they go on chain and over the wire to no one. Everything else passes through.
 */
export function silencedChallenges (fault: 'wire-only-challenge' | 'chain-only-challenge', settlement: SettlementCalls, transport: MessageTransport): { settlement: SettlementCalls, transport: MessageTransport } {
  const wireOnly = fault === 'wire-only-challenge'
  return {
    settlement: {
      settleAccepted: async (...a) => await settlement.settleAccepted(...a),
      settleBatch: async (...a) => await settlement.settleBatch(...a),
      settleVerdict: async (...a) => await settlement.settleVerdict(...a),
      challengeResults: async (...a) => { if (!wireOnly) await settlement.challengeResults(...a) },
      commitResults: async (...a) => await settlement.commitResults(...a),
      claimTimeoutSubmit: async (...a) => await settlement.claimTimeoutSubmit(...a),
      claimTimeoutJudge: async (...a) => await settlement.claimTimeoutJudge(...a),
      claimTimeoutMediate: async (...a) => await settlement.claimTimeoutMediate(...a),
      takeCase: async (...a) => await settlement.takeCase(...a),
      ...(settlement.dealRecord !== undefined ? { dealRecord: settlement.dealRecord.bind(settlement) } : {}),
      ...(settlement.judgeOf !== undefined ? { judgeOf: settlement.judgeOf.bind(settlement) } : {}),
      ...(settlement.resultsCidHash !== undefined ? { resultsCidHash: settlement.resultsCidHash.bind(settlement) } : {}),
      challengeOf: async (...a) => await settlement.challengeOf(...a),
      commitmentOf: async (...a) => await settlement.commitmentOf(...a),
      balanceOf: async (...a) => await settlement.balanceOf(...a),
      withdrawalOf: async (...a) => await settlement.withdrawalOf(...a)
    },
    transport: {
      address: transport.address,
      publish: async (topic, delivery) => { await transport.publish(topic, delivery) },
      send: async (to, delivery, signal) => {
        // wire only: to the deal's provider alone, never to its mediators
        const deal = delivery.attachments.find(a => a.type === 'Deal')?.message as Deal | undefined
        if (delivery.envelope.type === 'ResultsChallenged' && (!wireOnly || deal?.resourceProvider.toLowerCase() !== to.toLowerCase())) return
        await transport.send(to, delivery, signal)
      },
      onDelivery: (handler) => { transport.onDelivery(handler) }
    }
  }
}
