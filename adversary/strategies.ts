/**
 * The strategies a job creator or a provider may play against an honest counterparty, each with
 * the outcome of DESIGN §6 whose payout the honest party is owed. A strategy is a script: what it
 * signs, what it sends, what it posts on chain, and when. The honest party is a real machine.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cidOfPath } from '../src/executor/results/cid.ts'
import { writeFailedRun, type FailureCode } from '../src/executor/results/failed-run.ts'
import type { Deal } from '../src/protocols/messages/schemas.ts'
import { signMessage } from '../src/protocols/messages/signing.ts'
import { toDomain } from '../src/state-machines/common.ts'
import type { DealOutcome } from '../src/state-machines/deal-states.ts'
import { lockedBy } from '../src/state-machines/settle.ts'
import { AGREE_GRACE_MS } from '../src/state-machines/job-creator.machine.ts'
import { BAD_CID, Game, HONEST_CID, type GameOptions } from './game.ts'
import { DEPOSIT, type Arena } from './arena.ts'
import { Wallet } from 'ethers'
import { SettlementClient } from '../src/settlement/index.ts'
import { RELAY_STRATEGIES, type RelayStrategy } from './relay.ts'

/** A strategy of a party to a deal; a relayer's against a requester is a RelayStrategy (relay.ts). */
export type Strategy = DealStrategy | RelayStrategy

export interface DealStrategy {
  name: string
  /** what the chain records for the deal at the end, when not the owed outcome ('not signed' for a deal the honest party walked away from) */
  settles?: string
  /** who plays it: the honest party is the other one, or the mediator when `against` says so */
  by: 'job creator' | 'provider'
  /** the honest party, when not the other party of the deal */
  against?: 'mediator'
  /** whether the honest party held, when its deposit is not the measure (a mediator's work is) */
  holds?: (g: Game) => boolean
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

const YEAR = 365 * 24 * 3600_000

/** The CID of the failed-run result every honest run of an un-runnable job comes back with. */
async function failedRunCid (code: FailureCode): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-failed-run-'))
  try {
    return (await cidOfPath(await writeFailedRun(dir, code))).toString()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** Against a provider whose job failed after signing: the strategist refuses the failure, challenges it, and hopes. */
async function challengeTheFailure (g: Game): Promise<void> {
  const results = g.received('ResultsSubmitted')
  const challenge = g.challenge(results.message.resultsCid)
  await g.tell(challenge)
  await attempt(async () => await g.postChallenge(challenge, results))
}

/** A job that fails only once it runs: its failure is a result, submitted, challenged, and reproduced by the mediator. */
const failsWhenRun = (name: string, code: FailureCode): Strategy => ({
  name,
  settles: 'MediationAccepted',
  by: 'job creator',
  owed: 'MediationAccepted',
  setup: async (arena) => await Game.againstProvider(arena, { cid: await failedRunCid(code) }),
  play: challengeTheFailure
})

/** A job the provider's check before signing finds it cannot run: nothing is signed, nothing is owed. */
const refusedBeforeSigning = (name: string, code: FailureCode): Strategy => ({
  name,
  settles: 'not signed',
  by: 'job creator',
  owed: null,
  options: { unrunnable: code },
  play: async () => {}
})

/** The strategist creator, having got nowhere, claims TimeoutSubmit once the submit deadline passes. */
async function claimTimeoutSubmitLater (g: Game): Promise<void> {
  await g.passTo(g.deal.submitDeadline)
  await attempt(async () => await g.client.claimTimeoutSubmit(g.signedDeal))
}

/**
 * The strategist provider commits `committed` on chain, tells the creator `told` (if anything), and
 * claims TimeoutJudge once the judge deadline passes.
 */
function commitAndClaim (committed: string, told: string | null): (g: Game) => Promise<void> {
  return async (g) => {
    await g.commit(g.results(committed, '1'))
    if (told !== null) await g.tell(g.results(told, told === committed ? '1' : '2'))
    await g.passTo(g.deal.judgeDeadline)
    await attempt(async () => await g.client.claimTimeoutJudge(g.signedDeal))
  }
}

export const STRATEGIES: Strategy[] = [
  {
    name: 'wire-only challenge, then claim TimeoutSubmit',
    by: 'job creator',
    owed: 'MediationAccepted',
    play: async (g) => {
      // told to the provider only: not to the mediator, not to the chain
      await g.tell(g.challenge(g.received('ResultsSubmitted').message.resultsCid))
      await claimTimeoutSubmitLater(g)
    }
  },
  {
    name: 'on-chain-only challenge, telling no one',
    by: 'job creator',
    owed: 'MediationAccepted',
    play: async (g) => {
      const results = g.received('ResultsSubmitted')
      await g.postChallenge(g.challenge(results.message.resultsCid), results)
      await g.passTo(g.deal.mediateDeadline)
      await attempt(async () => await g.client.claimTimeoutMediate(g.signedDeal))
    }
  },
  {
    name: 'challenge of made-up results before any commitment',
    by: 'job creator',
    owed: 'TimeoutJudge',
    play: async (g) => {
      // "results" signed by the creator itself: the provider never signed this CID
      const made = g.sign('ResultsSubmitted', { author: g.wallet.address, nonce: '2', expiry: g.deal.mediateDeadline, dealId: g.dealId, resultsCid: BAD_CID, exitCode: 0, cpuMs: 1, durationMs: 1 })
      await attempt(async () => await g.postChallenge(g.challenge(BAD_CID), made))
      await claimTimeoutSubmitLater(g)
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
      await claimTimeoutSubmitLater(g)
    }
  },
  {
    name: 'a third party locks the deal',
    by: 'job creator',
    owed: 'TimeoutJudge',
    play: async (g) => {
      await attempt(async () => await g.arena.clients.outsider.lockDeal(g.signedDeal))
      await claimTimeoutSubmitLater(g)
    }
  },
  refusedBeforeSigning('un-runnable job: wrong spec hash', 'ERR_SPEC_MISMATCH'),
  refusedBeforeSigning('un-runnable job: unfetchable repository', 'ERR_MODULE_UNAVAILABLE'),
  refusedBeforeSigning('un-runnable job: missing image', 'ERR_IMAGE_UNAVAILABLE'),
  refusedBeforeSigning('un-runnable job: image by tag, not pinned', 'ERR_IMAGE_NOT_PINNED'),
  refusedBeforeSigning('un-runnable job: module timeout beyond the submit window', 'ERR_TIMEOUT_TOO_LONG'),
  failsWhenRun('un-runnable job: symlink in outputs, failure challenged', 'ERR_OUTPUTS_REFUSED'),
  failsWhenRun('un-runnable job: FIFO in outputs, failure challenged', 'ERR_OUTPUTS_REFUSED'),
  {
    name: 'zero-deposit creator',
    settles: 'not signed',
    by: 'job creator',
    owed: null,
    options: { as: 'outsider' },
    play: async () => {}
  },
  {
    name: 'open deals with other providers that lock its deposit',
    settles: 'not signed',
    by: 'job creator',
    owed: null,
    options: {
      beforeChecks: async (g, deal) => {
        // an agreed deal with another provider, gossiped, leaves less free than this deal locks
        const locks = lockedBy(deal)
        const other: Deal = { ...deal, resourceProvider: g.arena.wallets.outsider.address, nonce: `${deal.nonce}1`, paymentCollateral: String(DEPOSIT - locks.jobCreator) }
        const half = g.sign('Deal', other)
        await g.honest.gossip(signMessage(g.arena.wallets.outsider, toDomain(g.arena.domain), 'Deal', other, half.signatures))
      }
    },
    play: async () => {}
  },
  {
    name: 'withdrawal asked for before signing',
    settles: 'not signed',
    by: 'job creator',
    owed: null,
    options: { as: 'withdrawer', beforeChecks: async (g) => { await g.client.requestWithdrawal(await g.client.balanceOf()) } },
    play: async () => {}
  },
  {
    name: 'withdrawal raced against a settlement batch',
    settles: 'Accepted',
    by: 'job creator',
    owed: 'Accepted',
    options: { as: 'racer' },
    play: async (g) => {
      await g.client.requestWithdrawal(await g.client.balanceOf())
      const results = g.received('ResultsSubmitted')
      await g.tell(g.sign('ResultsAccepted', { author: g.wallet.address, nonce: '1', expiry: g.deal.mediateDeadline, dealId: g.dealId, resultsCid: results.message.resultsCid }))
      await attempt(async () => await g.client.withdraw())
    }
  },
  {
    name: 'a decades-long judge window',
    settles: 'not signed',
    by: 'job creator',
    owed: null,
    options: { tamper: (deal) => ({ ...deal, judgeDeadline: deal.judgeDeadline + 20 * YEAR, mediateDeadline: deal.mediateDeadline + 20 * YEAR }) },
    play: async (g) => { await attempt(async () => await g.client.lockDeal(g.signedDeal)) }
  },
  {
    name: 'zero-deposit provider',
    settles: 'not signed',
    by: 'provider',
    owed: null,
    options: { as: 'outsider' },
    play: async () => {}
  },
  {
    name: 'accept, then claim TimeoutJudge on an early commitment',
    by: 'provider',
    owed: 'Accepted',
    play: commitAndClaim(HONEST_CID, HONEST_CID)
  },
  {
    name: 'CID equivocation: one CID signed to the creator, another committed',
    by: 'provider',
    owed: 'MediationRejected',
    play: commitAndClaim(HONEST_CID, BAD_CID)
  },
  {
    name: 'CID equivocation against a creator that does not check, then settle its acceptance',
    by: 'provider',
    owed: 'MediationRejected',
    options: { checkRate: 0 },
    play: async (g) => {
      await g.commit(g.results(HONEST_CID, '1'))
      await g.tell(g.results(BAD_CID, '2'))
      // the acceptance names the CID told, not the one committed: the chain refuses it
      const acceptance = g.received('ResultsAccepted')
      await attempt(async () => await g.client.settleAccepted(g.signedDeal, acceptance.message, acceptance.signatures[0] as string))
      await g.passTo(g.deal.judgeDeadline)
      await attempt(async () => await g.client.claimTimeoutJudge(g.signedDeal))
    }
  },
  {
    // the creator takes the deal as fallen through; the provider holds it signed by both all the same
    name: 'co-signature withheld past the agree deadline, results committed, TimeoutJudge claimed',
    by: 'provider',
    owed: 'TimeoutMediate',
    options: { withholdCoSignature: true },
    play: async (g) => {
      await g.passTo(g.deal.agreeDeadline + AGREE_GRACE_MS + 1)
      await commitAndClaim(HONEST_CID, null)(g)
    }
  },
  {
    name: 'results committed on chain, never delivered',
    by: 'provider',
    owed: 'Accepted',
    play: commitAndClaim(HONEST_CID, null)
  },
  {
    name: 'wrong results, then claim TimeoutJudge',
    by: 'provider',
    owed: 'MediationRejected',
    play: commitAndClaim(BAD_CID, BAD_CID)
  },
  {
    name: 'free mediation: a deal between two keys with no deposits, challenged',
    settles: 'unsettled (JobOffered)',
    by: 'job creator',
    against: 'mediator',
    owed: null,
    setup: async (arena) => await Game.againstMediator(arena),
    play: async () => {},
    // nothing was ever locked for the mediator's fee: it must not have re-run the job
    holds: (g) => g.reruns === 0
  },
  {
    name: 'a creator picks its own mediator of the deal to judge: it tells only that one, which tries to take the case and rules against the provider',
    settles: 'MediationAccepted',
    by: 'job creator',
    owed: 'MediationAccepted',
    options: { colluder: 'outsider' },
    play: async (g) => {
      await challengeTillTheHonestMediatorIsDrawn(g)
      // the strategist's mediator, told of the challenge by the strategist alone, acts as if it were the judge
      const colluder = g.arena.clients.outsider
      await attempt(async () => await colluder.takeCase(g.signedDeal))
      const verdict = g.signAs('outsider', 'MediationVerdict', {
        author: g.arena.wallets.outsider.address, nonce: '1', expiry: g.deal.mediateDeadline, dealId: g.dealId, resultsCid: HONEST_CID, mediatorCid: BAD_CID, providerAtFault: true
      })
      await g.tell(verdict)
      await attempt(async () => await colluder.settleVerdict(g.signedDeal, verdict.message, verdict.signatures[0] as string))
    }
  },
  {
    name: 'wrong results on a deal that asks for 2 of its 3 mediators\' verdicts: the provider\'s own mediator votes for them first',
    settles: 'MediationRejected',
    by: 'provider',
    owed: 'MediationRejected',
    options: { colluder: 'outsider', quorum: 2, beforeDelivery: colluderVotesFirst(false) },
    play: async (g) => {
      await stakeTheColluder(g)
      await g.tell(g.results(BAD_CID))
    }
  },
  {
    name: 'honest results challenged on a deal that asks for 2 of its 3 mediators\' verdicts: the creator\'s own mediator votes against them first',
    settles: 'MediationAccepted',
    by: 'job creator',
    owed: 'MediationAccepted',
    options: { colluder: 'outsider', quorum: 2, beforeDelivery: colluderVotesFirst(true) },
    play: async (g) => {
      await stakeTheColluder(g)
      const results = g.received('ResultsSubmitted')
      const challenge = g.challenge(results.message.resultsCid)
      await g.postChallenge(challenge, results)
      await g.tell(challenge)
    }
  },
  {
    name: 'honest results challenged before a colluding mediator, which takes the case and stays silent',
    settles: 'TimeoutMediate',
    by: 'job creator',
    owed: 'MediationAccepted',
    options: { strategistMediates: true },
    play: async (g) => {
      await stakeTheMediator(g)
      const results = g.received('ResultsSubmitted')
      const challenge = g.challenge(results.message.resultsCid)
      await g.tell(challenge)
      // the honest provider posts a challenge it was told of itself: either one will do
      await attempt(async () => await g.postChallenge(challenge, results))
      await g.arena.clients.mediator.takeCase(g.signedDeal)
    }
  },
  {
    name: 'wrong results, and a colluding mediator that takes the case and stays silent',
    settles: 'TimeoutMediate',
    by: 'provider',
    owed: 'MediationRejected',
    options: { strategistMediates: true },
    play: async (g) => {
      await stakeTheMediator(g)
      await g.tell(g.results(BAD_CID))
      // the honest creator checks, finds other results, and challenges on chain and on the wire
      await g.arena.clients.mediator.takeCase(g.signedDeal)
    }
  },
  ...RELAY_STRATEGIES
]

/**
 * Posts the strategist creator's challenge of the results it received, told to no one, until the chain
 * draws the honest mediator to judge: where it draws the strategist's own, the chain is put back as it
 * was before the challenge and another block is mined. The draw is no party's to make (the contract's
 * tests show both mediators drawn); this row is about what the strategist's mediator can still do when
 * it is not the judge. A drawn colluder is the quorum's matter. Each try is sent from a fresh account,
 * whose nonce the restored chain does not contradict.
 */
async function challengeTillTheHonestMediatorIsDrawn (g: Game): Promise<void> {
  const chain = g.arena.clients.outsider.provider
  const results = g.received('ResultsSubmitted')
  const challenge = g.challenge(results.message.resultsCid)
  for (let attempt = 0; attempt < 32; attempt++) {
    const snapshot = await chain.send('evm_snapshot', []) as string
    const sender = Wallet.createRandom()
    await chain.send('anvil_setBalance', [sender.address, '0xde0b6b3a7640000'])
    const client = await SettlementClient.open({ rpcUrl: g.arena.chain.rpcUrl, privateKey: sender.privateKey, settlementAddress: g.arena.domain.verifyingContract, chainId: g.arena.chain.chainId, pollingIntervalMs: 50 })
    try {
      await client.challengeResults(g.signedDeal, challenge.message, challenge.signatures[0] as string, results.message, results.signatures[0] as string)
      const judge = await client.judgeOf(g.signedDeal)
      if (judge?.toLowerCase() === g.arena.wallets.mediator.address.toLowerCase()) return
    } finally {
      await client.close()
    }
    await chain.send('evm_revert', [snapshot])
    await chain.send('evm_mine', [])
  }
  throw new Error('the chain never drew the honest mediator in 32 tries')
}

/**
 * The strategist's mediator of a quorum deal votes as soon as the challenge is on the wire, before
 * any honest mediator has it, and tells both parties: the earliest a colluder can vote.
 */
function colluderVotesFirst (providerAtFault: boolean): NonNullable<GameOptions['beforeDelivery']> {
  return async (g, sent) => {
    if (sent.envelope.type !== 'ResultsChallenged' || g.colluderVoted) return
    g.colluderVoted = true
    const colluder = g.arena.clients.outsider
    const verdict = g.signAs('outsider', 'MediationVerdict', {
      author: g.arena.wallets.outsider.address, nonce: '1', expiry: g.deal.mediateDeadline, dealId: g.dealId,
      resultsCid: (sent.envelope.message as { resultsCid: string }).resultsCid, mediatorCid: HONEST_CID, providerAtFault
    })
    await attempt(async () => await colluder.takeCase(g.signedDeal))
    await attempt(async () => await colluder.settleVerdict(g.signedDeal, verdict.message, verdict.signatures[0] as string))
    for (const to of [g.deal.jobCreator, g.deal.resourceProvider]) g.network.push({ envelope: verdict, attachments: [], to, from: g.arena.wallets.outsider.address })
  }
}

/** The strategist's mediator holds a stake, which it loses to the honest party when outvoted. */
async function stakeTheColluder (g: Game): Promise<void> {
  await g.arena.clients.outsider.deposit(BigInt(g.deal.price) + BigInt(g.deal.resultsCollateral))
}

/** The mediator the strategist holds deposits a stake and registers for the deal's fee: the deal binds it. */
async function stakeTheMediator (g: Game): Promise<void> {
  const mediator = g.arena.clients.mediator
  const terms = await mediator.mediatorOf()
  const owed = BigInt(g.deal.price) + BigInt(g.deal.resultsCollateral)
  if (terms.stake < owed) await mediator.deposit(owed - terms.stake)
  if (!terms.registered) await mediator.registerMediator(BigInt(g.deal.mediatorFee))
}
