import type { LilypadDomain } from '../../../protocols/messages/eip712-types.ts'
import type { Envelope } from '../../../protocols/messages/envelope.ts'
import { messageId } from '../../../protocols/messages/signing.ts'
import { LIMITS } from '../../../protocols/messages/fields.ts'
import type { Deal, MediationVerdict, MessagePayloads, ResultsAccepted, ResultsChallenged, ResultsSubmitted } from '../../../protocols/messages/schemas.ts'
import type { MachineOutput } from '../../../state-machines/contract.ts'
import type { EffectHandlers, NewInput } from '../../runtime/actor-runtime.ts'
import type { MessageStore } from '../message-store.ts'
import type { OpenDeals } from '../open-deals.ts'
import { pause, retry } from '../../../support/delay.ts'

export interface SignedDealEvidence {
  deal: Deal
  jobCreatorSignature: string
  resourceProviderSignature: string
}

/** The settlement calls role actors make (the chain adapter's, narrowed). */
export interface AcceptedEvidence {
  signed: SignedDealEvidence
  acceptance: ResultsAccepted
  acceptanceSignature: string
}

export interface SettlementCalls {
  settleAccepted (signed: SignedDealEvidence, acceptance: ResultsAccepted, signature: string): Promise<unknown>
  /** many accepted deals in one transaction; deals already settled are skipped, those it cannot settle are reported */
  settleBatch (items: AcceptedEvidence[]): Promise<{ failed?: Array<{ dealId: string, reason: string }> } | void>
  settleVerdict (signed: SignedDealEvidence, verdict: MediationVerdict, signature: string): Promise<unknown>
  /** `results`: the provider's signed ResultsSubmitted for the challenged CID */
  challengeResults (signed: SignedDealEvidence, challenge: ResultsChallenged, signature: string, results: ResultsSubmitted, resultsSignature: string): Promise<unknown>
  commitResults (signed: SignedDealEvidence, results: ResultsSubmitted, signature: string): Promise<unknown>
  claimTimeoutSubmit (signed: SignedDealEvidence): Promise<unknown>
  claimTimeoutJudge (signed: SignedDealEvidence): Promise<unknown>
  claimTimeoutMediate (signed: SignedDealEvidence): Promise<unknown>
  /** the drawn judge takes the case of a challenged deal */
  takeCase (signed: SignedDealEvidence): Promise<unknown>
  /** the judge of a deal in mediation: the mediator that took the case, or the one drawn to take it next */
  judgeOf? (signed: SignedDealEvidence): Promise<string | undefined>
  /** the chain's record of a deal: its state, its outcome once settled, the judge once it took the case */
  dealRecord? (dealId: string): Promise<{ state: string, outcome?: string, mediator?: string, caseTaken?: boolean }>
  /** the keccak256 of the results CID on record for a deal */
  resultsCidHash? (dealId: string): Promise<string>
  /** the job creator's signed challenge of a deal, as it was posted on chain, if it was */
  challengeOf (dealId: string, notBeforeMs?: number): Promise<{ message: ResultsChallenged, signature: string } | undefined>
  /** the provider's signed results of a deal, as they were committed on chain, if they were */
  commitmentOf (dealId: string, notBeforeMs?: number): Promise<{ message: ResultsSubmitted, signature: string } | undefined>
  /** an account's deposit, and the withdrawal it asked for */
  balanceOf (account: string): Promise<bigint>
  withdrawalOf (account: string): Promise<{ amount: bigint } | undefined>
}

/** Errors that mean another party already did what this output asks: settlement is first come, first served. */
const DONE_ALREADY = new Set(['ALREADY_SETTLED', 'ALREADY_CHALLENGED', 'RESULTS_ALREADY_COMMITTED'])
/**
 * A claim the chain refuses because the deal was settled meanwhile is done: the deal's outcome is
 * the one the chain holds. A claim refused because a commitment or a challenge overtook it is
 * answered with what overtook it, read back from the chain (see claimOrRead).
 */
const SETTLED_ALREADY = new Set(['ALREADY_SETTLED'])
const COMMIT_DONE = new Set(['ALREADY_SETTLED', 'RESULTS_ALREADY_COMMITTED'])
/** Errors worth another try: the chain did not answer, or the transaction did not make it. */
const TRANSIENT = new Set(['CHAIN_UNAVAILABLE', 'TRANSACTION_FAILED'])
/**
 * An accepted deal a batch left out because a deposit fell short (other deals drained it first:
 * settlement is first come, first served) is tried again, alone, as the deposit may be topped up.
 */
const SETTLE_RETRIED = new Set([...TRANSIENT, 'INSUFFICIENT_DEPOSIT'])
/** A verdict may reach the chain before the challenge or the mediator's taking of the case is mined: it is tried again. */
const VERDICT_RETRIED = new Set([...TRANSIENT, 'CASE_NOT_TAKEN', 'NOT_CHALLENGED'])

/** The outputs that put evidence on chain or read it back. */
export type ChainOutput = 'chain.settle' | 'chain.claim' | 'chain.challenge' | 'chain.takeCase' | 'chain.commitResults' | 'chain.watch' | 'chain.readDeposit'

export interface ChainEffectsModules {
  domain: LilypadDomain
  store: MessageStore
  settlement: SettlementCalls
  /** accepted deals settle together: the first waits this long for others (0: one transaction each) */
  batchWindowMs?: number
  maxBatch?: number
  retryDelaysMs?: number[]
  /** how often, and how long at most, a claim or settlement waits for the chain to settle the deal */
  settledPollMs?: number
  settledWaitMs?: number
  /** the agreed deals this node has seen, whose locks a deposit read reports beside the balance */
  openDeals?: Pick<OpenDeals, 'locksOf'>
}

/**
 * Collects accepted deals for one `settleBatch` transaction: the happy path touches the chain once
 * for many deals. Each caller resolves or fails with the transaction that carried its deal.
 */
export class AcceptedBatcher {
  private pending: Array<{ item: AcceptedEvidence, resolve: () => void, reject: (err: unknown) => void }> = []
  private timer: NodeJS.Timeout | undefined

  constructor (
    private readonly settleBatch: (items: AcceptedEvidence[]) => Promise<{ failed?: Array<{ dealId: string, reason: string }> } | void>,
    private readonly dealIdOf: (item: AcceptedEvidence) => string,
    private readonly windowMs: number,
    private readonly max: number
  ) {}

  add (item: AcceptedEvidence): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject })
      if (this.pending.length >= this.max) this.flush()
      else this.timer ??= setTimeout(() => this.flush(), this.windowMs)
    })
  }

  private flush (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    const batch = this.pending.splice(0, this.max)
    if (batch.length === 0) return
    this.settleBatch(batch.map(b => b.item)).then(
      (receipt) => {
        // the contract settles what it can: an entry it left out fails alone, with its reason
        const failed = new Map((receipt?.failed ?? []).map(f => [f.dealId.toLowerCase(), f.reason]))
        for (const b of batch) {
          const reason = failed.get(this.dealIdOf(b.item).toLowerCase())
          if (reason === undefined) b.resolve()
          else b.reject(Object.assign(new Error(`the batch left the deal unsettled: ${reason}`), { code: reason }))
        }
      },
      (err: unknown) => { for (const b of batch) b.reject(err) }
    )
    if (this.pending.length > 0) this.timer = setTimeout(() => this.flush(), this.windowMs)
  }
}


/**
 * `chain.settle`, `chain.claim`, `chain.challenge`, `chain.takeCase`, `chain.commitResults`: put the signed messages
 * named as evidence on chain; `chain.watch`: read what the chain holds for a deal. Accepted deals settle in batches; a transaction another party already
 * made counts as done; a chain that does not answer is tried again a few times.
 *
 * A settlement or claim answers with `chain.settled` {dealId, outcome}: the outcome the chain holds
 * for the deal, which is the one the parties must record, whoever's transaction settled it.
 */
export function chainEffects ({ domain, store, settlement, openDeals, batchWindowMs = 1000, maxBatch = 100, retryDelaysMs = [500, 2000, 5000, 10_000], settledPollMs = 2000, settledWaitMs = 15 * 60_000 }: ChainEffectsModules): EffectHandlers<ChainOutput> {
  const batcher = batchWindowMs > 0 ? new AcceptedBatcher(items => settlement.settleBatch(items), item => item.acceptance.dealId, batchWindowMs, maxBatch) : undefined
  async function signedDeal (dealId: string): Promise<SignedDealEvidence> {
    const envelope = await store.require(dealId) as Envelope<'Deal'>
    if (envelope.signatures.length === 0) throw new Error(`deal ${dealId} is signed by no one`)
    // a creator whose provider's co-signature never came holds its own signature only: enough for a
    // deal the chain has recorded (its results committed), which the contract takes as agreed
    return { deal: envelope.message, jobCreatorSignature: envelope.signatures[0]!, resourceProviderSignature: envelope.signatures[1] ?? '0x' }
  }
  /** The judge of a deal in mediation: the mediator that took the case, or the one drawn to take it next. */
  async function judgeOf (dealId: string): Promise<string | undefined> {
    if (settlement.judgeOf === undefined) return undefined
    return await settlement.judgeOf(await signedDeal(dealId))
  }
  async function evidence<T> (id: unknown): Promise<{ message: T, signature: string }> {
    const envelope = await store.require(String(id))
    return { message: envelope.message as T, signature: envelope.signatures[0]! }
  }
  const codeOf = (err: unknown): string => (err as { code?: string }).code ?? ''
  const once = async (call: () => Promise<unknown>, doneAlready = DONE_ALREADY, retried = TRANSIENT): Promise<void> => {
    try {
      await retry(call, { delaysMs: retryDelaysMs, retryable: err => retried.has(codeOf(err)) })
    } catch (err) {
      if (!doneAlready.has(codeOf(err))) throw err
    }
  }
  /** Waits for the chain to settle the deal (another party's transaction may be what settles it). */
  async function settled (dealId: string, signal: AbortSignal): Promise<NewInput[]> {
    const dealRecord = settlement.dealRecord?.bind(settlement)
    if (dealRecord === undefined) return []
    const end = Date.now() + settledWaitMs
    for (;;) {
      const record = await dealRecord(dealId).catch(() => undefined)
      if (record?.state === 'Settled' && record.outcome !== undefined) return [{ type: 'chain.settled', dealId, outcome: record.outcome }]
      if (signal.aborted) throw new Error(`stopped before deal ${dealId} settled on chain`)
      if (Date.now() > end) return []
      await pause(settledPollMs, signal)
    }
  }
  /**
   * A claim, answered with the deal's settlement; or, when the chain refuses it with `overtakenBy`,
   * with what overtook it, read back from the chain.
   */
  async function claimOrRead (claim: () => Promise<unknown>, done: Set<string>, overtakenBy: string, read: (dealId: string) => Promise<NewInput | undefined>, output: MachineOutput, signal: AbortSignal): Promise<NewInput | NewInput[]> {
    try {
      await once(claim, done)
    } catch (err) {
      if ((err as { code?: string }).code !== overtakenBy) throw err
      const seen = await read(String(output.dealId))
      if (seen !== undefined) return seen
    }
    return await settled(String(output.dealId), signal)
  }
  const evidenceOf = (output: MachineOutput): unknown[] => Array.isArray(output.evidence) ? output.evidence : []
  /** A signed message read back from the chain, kept as the node keeps messages, and handed to the machine as `event`. */
  async function keptFromChain<T extends 'ResultsChallenged' | 'ResultsSubmitted'> (type: T, posted: { message: MessagePayloads[T], signature: string } | undefined, event: string, dealId: string): Promise<NewInput | undefined> {
    if (posted === undefined) return undefined
    const envelope = { type, message: posted.message, signatures: [posted.signature] } as Envelope
    await store.put(messageId(domain, type, posted.message), envelope)
    return { type: event, dealId, envelope: envelope as never }
  }
  /** When a deal's transactions can first have been sent: it was signed at most one window before its agree deadline. */
  const signedNotBefore = async (dealId: string): Promise<number> => (await signedDeal(dealId)).deal.agreeDeadline - LIMITS.maxWindowMs
  const challengeOnChain = async (dealId: string): Promise<NewInput | undefined> =>
    await keptFromChain('ResultsChallenged', await settlement.challengeOf(dealId, await signedNotBefore(dealId)), 'chain.challenged', dealId)
  const commitmentOnChain = async (dealId: string): Promise<NewInput | undefined> =>
    await keptFromChain('ResultsSubmitted', await settlement.commitmentOf(dealId, await signedNotBefore(dealId)), 'chain.committed', dealId)

  return {
    'chain.settle': async (output, { signal }) => {
      const deal = await signedDeal(String(output.dealId))
      const proof = evidenceOf(output)[1]
      if (output.outcome === 'Accepted') {
        const accepted = await evidence<ResultsAccepted>(proof)
        await once(() => batcher !== undefined
          ? batcher.add({ signed: deal, acceptance: accepted.message, acceptanceSignature: accepted.signature })
          : settlement.settleAccepted(deal, accepted.message, accepted.signature), DONE_ALREADY, SETTLE_RETRIED)
      } else {
        const verdict = await evidence<MediationVerdict>(proof)
        await once(() => settlement.settleVerdict(deal, verdict.message, verdict.signature), DONE_ALREADY, VERDICT_RETRIED)
      }
      return await settled(String(output.dealId), signal)
    },
    'chain.claim': async (output, { signal }) => {
      const deal = await signedDeal(String(output.dealId))
      switch (output.claim) {
        // results committed but never delivered: the creator judges them from the chain
        case 'TimeoutSubmit': return await claimOrRead(() => settlement.claimTimeoutSubmit(deal), SETTLED_ALREADY, 'RESULTS_ALREADY_COMMITTED', commitmentOnChain, output, signal)
        // a challenge posted on chain and told to no one: the provider brings it to the mediator
        case 'TimeoutJudge': return await claimOrRead(() => settlement.claimTimeoutJudge(deal), SETTLED_ALREADY, 'ALREADY_CHALLENGED', challengeOnChain, output, signal)
        case 'TimeoutMediate': await once(() => settlement.claimTimeoutMediate(deal), SETTLED_ALREADY); break
        default: throw new Error(`unknown claim ${String(output.claim)}`)
      }
      return await settled(String(output.dealId), signal)
    },
    'chain.challenge': async (output) => {
      const deal = await signedDeal(String(output.dealId))
      const challenge = await evidence<ResultsChallenged>(evidenceOf(output)[1])
      const results = await evidence<ResultsSubmitted>(evidenceOf(output)[2])
      await once(() => settlement.challengeResults(deal, challenge.message, challenge.signature, results.message, results.signature))
      // a challenge of results other than those committed proves an equivocation and settles at once
      const record = await settlement.dealRecord?.(String(output.dealId))
      if (record?.state === 'Settled' && record.outcome !== undefined) return [{ type: 'chain.settled', dealId: String(output.dealId), outcome: record.outcome }]
    },
    /** The drawn judge takes the case of a challenged deal: only a case taken settles by its verdict. */
    'chain.takeCase': async (output) => {
      // a mediator that restarts runs this again: a case the chain shows taken costs no second transaction
      const record = await settlement.dealRecord?.(String(output.dealId))
      if (record?.caseTaken === true) return
      await once(async () => await settlement.takeCase(await signedDeal(String(output.dealId))))
    },
    /** A deposit as the exposure check before signing reads it: its balance, and what is asked to leave it. */
    'chain.readDeposit': async (output) => {
      const account = String(output.account)
      const [balance, withdrawal] = await Promise.all([settlement.balanceOf(account), settlement.withdrawalOf(account)])
      const open = openDeals?.locksOf(account, typeof output.dealId === 'string' ? output.dealId : undefined) ?? { withOthers: 0n, withUs: 0n }
      return {
        type: 'chain.deposit',
        account,
        balance: balance.toString(),
        withdrawing: (withdrawal?.amount ?? 0n).toString(),
        lockedWithOthers: open.withOthers.toString(),
        lockedWithUs: open.withUs.toString()
      }
    },
    /**
     * What the chain holds for a deal now: its state, its outcome once settled, the results on record.
     * With `commitment`, results committed on chain come back as `chain.committed`, signed, read
     * from the transaction that committed them.
     */
    'chain.watch': async (output) => {
      const dealId = String(output.dealId)
      const record = await settlement.dealRecord?.(dealId)
      if (record === undefined) throw new Error('this node cannot read the chain')
      if (output.commitment === true && record.state === 'ResultsSubmitted') {
        const committed = await commitmentOnChain(dealId)
        if (committed === undefined) throw new Error(`deal ${dealId} has results committed, but not by a transaction this node can read`)
        return committed
      }
      // the results on record are read only where there are some: a second call, off the happy path
      const onRecord = record.state === 'ResultsSubmitted' || record.state === 'Mediating'
      const resultsCidHash = onRecord ? await settlement.resultsCidHash?.(dealId) : undefined
      // a deal in mediation: its judge, the mediator that took the case or the one drawn to take it
      const mediator = record.state === 'Mediating' ? await judgeOf(dealId) : record.mediator
      return {
        type: 'chain.observed',
        dealId,
        state: record.state,
        ...(record.outcome === undefined ? {} : { outcome: record.outcome }),
        ...(mediator === undefined ? {} : { mediator }),
        ...(record.state === 'Mediating' && record.caseTaken !== undefined ? { caseTaken: record.caseTaken } : {}),
        ...(resultsCidHash === undefined ? {} : { resultsCidHash })
      }
    },
    'chain.commitResults': async (output) => {
      const deal = await signedDeal(String(output.dealId))
      const results = await evidence<ResultsSubmitted>(`results:${String(output.dealId)}`)
      try {
        await once(() => settlement.commitResults(deal, results.message, results.signature), COMMIT_DONE)
      } catch (err) {
        if ((err as { code?: string }).code !== 'ALREADY_CHALLENGED') throw err
        // a challenge on chain that no one told us of: the mediator hears of it now, not at the judge deadline
        return await challengeOnChain(String(output.dealId))
      }
    }
  }
}
