/**
 * A chain for tests of role actors over an in-memory network: it takes every transaction and
 * records its name; `made(name)` resolves once a call of that name was made. With `readsChallenges`
 * it also answers reads of the deals challenged on it (in mediation with the deal's first mediator
 * drawn to judge, then settled by the verdict), as a mediator reads the chain before it re-runs a
 * job; other reads fail, as a node's without a chain do.
 */
import type { SettlementCalls } from '../../src/actors/roles/effects/chain.ts'

export type RecordingChain = SettlementCalls & { calls: string[], made: (name: string) => Promise<void> }

export function recordingChain (o: { readsChallenges?: boolean } = {}): RecordingChain {
  const calls: string[] = []
  const waiting: Array<{ name: string, resolve: () => void }> = []
  const records = new Map<string, { state: string, outcome?: string, mediator?: string }>()
  const record = (name: string) => async () => {
    calls.push(name)
    for (const w of waiting.filter(w => w.name === name)) w.resolve()
  }
  return {
    calls,
    made: async (name) => {
      if (calls.includes(name)) return
      await new Promise<void>(resolve => { waiting.push({ name, resolve }) })
    },
    settleAccepted: record('settleAccepted'),
    settleBatch: record('settleBatch'),
    challengeResults: async (signed, challenge) => {
      records.set(challenge.dealId, { state: 'Mediating', mediator: signed.deal.mediators[0] })
      await record('challengeResults')()
    },
    settleVerdict: async (_signed, verdict) => {
      records.set(verdict.dealId, { state: 'Settled', outcome: verdict.providerAtFault ? 'MediationRejected' : 'MediationAccepted' })
      await record('settleVerdict')()
    },
    ...(o.readsChallenges === true
      ? {
          dealRecord: async (dealId: string) => {
            const seen = records.get(dealId)
            if (seen === undefined) throw new Error('no record of this deal here')
            return seen
          },
          judgeOf: async (signed: { deal: { mediators: string[] } }) => signed.deal.mediators[0]
        }
      : {}),
    commitResults: record('commitResults'),
    claimTimeoutSubmit: record('claimTimeoutSubmit'),
    claimTimeoutJudge: record('claimTimeoutJudge'),
    claimTimeoutMediate: record('claimTimeoutMediate'),
    takeCase: record('takeCase'),
    challengeOf: async () => undefined,
    commitmentOf: async () => undefined,
    balanceOf: async () => 10n ** 24n,
    withdrawalOf: async () => undefined
  }
}
