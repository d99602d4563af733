/**
 * The strategies a job creator or a provider may play against an honest counterparty, each with
 * the outcome of DESIGN §6 whose payout the honest party is owed. A strategy is a script: what it
 * signs, what it sends, what it posts on chain, and when. The honest party is a real machine.
 */
import type { DealOutcome } from '../src/state-machines/deal-states.ts'
import { BAD_CID, Game, HONEST_CID, type GameOptions } from './game.ts'
import type { Arena } from './arena.ts'

export interface Strategy {
  name: string
  /** who plays it: the honest party is the other one */
  by: 'job creator' | 'provider'
  /** the outcome whose payout the honest party is owed; null when no deal should be signed at all */
  owed: DealOutcome | null
  options?: GameOptions
  /** sets the deal up; by default the usual match, signing and (against a provider) run */
  setup?: (arena: Arena) => Promise<Game>
  play: (g: Game) => Promise<void>
}

/** Calls the contract and ignores a refusal: a strategist tries what it can. */
async function attempt (call: () => Promise<unknown>): Promise<void> {
  await call().catch(() => undefined)
}

/** A deterministic failed-run result: every honest run of an un-runnable job comes back with it. */
const failedRun = (code: string): string => `bafkfailed${code.toLowerCase().replace(/[^a-z0-9]/g, '')}`

/** Against a provider whose job failed after signing: the strategist refuses the failure, challenges it, and hopes. */
async function challengeTheFailure (g: Game): Promise<void> {
  const results = g.received('ResultsSubmitted')
  const challenge = g.sign('ResultsChallenged', { author: g.wallet.address, nonce: '1', expiry: g.deal.mediateDeadline, dealId: g.dealId, resultsCid: results.message.resultsCid, mediator: g.deal.mediators[0] as string })
  await g.tell(challenge, [])
  await attempt(async () => await g.client.challengeResults(g.signedDeal, challenge.message, challenge.signatures[0] as string, results.message, results.signatures[0] as string))
}

const unrunnable = (name: string, code: string): Strategy => ({
  name,
  by: 'job creator',
  owed: 'MediationAccepted',
  options: { cid: failedRun(code) },
  play: challengeTheFailure
})

export const STRATEGIES: Strategy[] = [
  {
    name: 'wire-only challenge, then claim TimeoutSubmit',
    by: 'job creator',
    owed: 'MediationAccepted',
    play: async (g) => {
      const results = g.received('ResultsSubmitted')
      const challenge = g.sign('ResultsChallenged', { author: g.wallet.address, nonce: '1', expiry: g.deal.mediateDeadline, dealId: g.dealId, resultsCid: results.message.resultsCid, mediator: g.deal.mediators[0] as string })
      // told to the provider only: not to the mediator, not to the chain
      await g.tell(challenge)
      await g.passTo(g.deal.submitDeadline)
      await attempt(async () => await g.client.claimTimeoutSubmit(g.signedDeal))
    }
  },
  {
    name: 'on-chain-only challenge, telling no one',
    by: 'job creator',
    owed: 'MediationAccepted',
    play: async (g) => {
      const results = g.received('ResultsSubmitted')
      const challenge = g.sign('ResultsChallenged', { author: g.wallet.address, nonce: '1', expiry: g.deal.mediateDeadline, dealId: g.dealId, resultsCid: results.message.resultsCid, mediator: g.deal.mediators[0] as string })
      await g.client.challengeResults(g.signedDeal, challenge.message, challenge.signatures[0] as string, results.message, results.signatures[0] as string)
      await g.passTo(g.deal.mediateDeadline)
      await attempt(async () => await g.client.claimTimeoutMediate(g.signedDeal))
    }
  },
  {
    name: 'challenge of made-up results before any commitment',
    by: 'job creator',
    owed: 'TimeoutJudge',
    play: async (g) => {
      const made = { author: g.wallet.address, nonce: '2', expiry: g.deal.mediateDeadline, dealId: g.dealId, resultsCid: BAD_CID, exitCode: 0, cpuMs: 1, durationMs: 1 }
      const forged = g.sign('ResultsSubmitted', made)
      const challenge = g.sign('ResultsChallenged', { author: g.wallet.address, nonce: '1', expiry: g.deal.mediateDeadline, dealId: g.dealId, resultsCid: BAD_CID, mediator: g.deal.mediators[0] as string })
      await attempt(async () => await g.client.challengeResults(g.signedDeal, challenge.message, challenge.signatures[0] as string, forged.message, forged.signatures[0] as string))
      await g.passTo(g.deal.submitDeadline)
      await attempt(async () => await g.client.claimTimeoutSubmit(g.signedDeal))
    }
  },
  {
    name: 'a replayed acceptance from another deal',
    by: 'job creator',
    owed: 'TimeoutJudge',
    play: async (g) => {
      const elsewhere = '0x' + 'ab'.repeat(32)
      const acceptance = g.sign('ResultsAccepted', { author: g.wallet.address, nonce: '1', expiry: g.deal.mediateDeadline, dealId: elsewhere, resultsCid: HONEST_CID })
      await g.tell(acceptance)
      await g.passTo(g.deal.submitDeadline)
      await attempt(async () => await g.client.claimTimeoutSubmit(g.signedDeal))
    }
  },
  {
    name: 'a third party locks the deal',
    by: 'job creator',
    owed: 'TimeoutJudge',
    play: async (g) => {
      await attempt(async () => await g.arena.clients.outsider.lockDeal(g.signedDeal))
      await g.passTo(g.deal.submitDeadline)
      await attempt(async () => await g.client.claimTimeoutSubmit(g.signedDeal))
    }
  },
  unrunnable('un-runnable job: wrong spec hash, failure challenged', 'ERR_SPEC_MISMATCH'),
  unrunnable('un-runnable job: symlink in outputs, failure challenged', 'ERR_OUTPUT_SYMLINK'),
  unrunnable('un-runnable job: FIFO in outputs, failure challenged', 'ERR_OUTPUT_SPECIAL_FILE'),
  {
    name: 'accept, then claim TimeoutJudge on an early commitment',
    by: 'provider',
    owed: 'Accepted',
    play: async (g) => {
      const results = g.results(HONEST_CID)
      await g.client.commitResults(g.signedDeal, results.message, results.signatures[0] as string)
      await g.tell(results)
      await g.passTo(g.deal.judgeDeadline)
      await attempt(async () => await g.client.claimTimeoutJudge(g.signedDeal))
    }
  },
  {
    name: 'CID equivocation: one CID signed to the creator, another committed',
    by: 'provider',
    owed: 'MediationRejected',
    play: async (g) => {
      const committed = g.results(HONEST_CID, '1')
      await g.client.commitResults(g.signedDeal, committed.message, committed.signatures[0] as string)
      await g.tell(g.results(BAD_CID, '2'))
      await g.passTo(g.deal.judgeDeadline)
      await attempt(async () => await g.client.claimTimeoutJudge(g.signedDeal))
    }
  },
  {
    name: 'results committed on chain, never delivered',
    by: 'provider',
    owed: 'Accepted',
    play: async (g) => {
      const results = g.results(HONEST_CID)
      await g.client.commitResults(g.signedDeal, results.message, results.signatures[0] as string)
      await g.passTo(g.deal.judgeDeadline)
      await attempt(async () => await g.client.claimTimeoutJudge(g.signedDeal))
    }
  },
  {
    name: 'wrong results, then claim TimeoutJudge',
    by: 'provider',
    owed: 'MediationRejected',
    play: async (g) => {
      const results = g.results(BAD_CID)
      await g.client.commitResults(g.signedDeal, results.message, results.signatures[0] as string)
      await g.tell(results)
      await g.passTo(g.deal.judgeDeadline)
      await attempt(async () => await g.client.claimTimeoutJudge(g.signedDeal))
    }
  }
]
