import type { Envelope } from '../../../protocols/messages/envelope.ts'
import type { Deal, MediationVerdict, ResultsAccepted, ResultsChallenged, ResultsSubmitted } from '../../../protocols/messages/schemas.ts'
import type { MachineOutput } from '../../../state-machines/contract.ts'
import type { EffectHandler, NewInput } from '../../runtime/actor-runtime.ts'
import type { MessageStore } from '../message-store.ts'

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
  /** many accepted deals in one transaction; deals already settled are skipped by the contract */
  settleBatch (items: AcceptedEvidence[]): Promise<unknown>
  settleVerdict (signed: SignedDealEvidence, verdict: MediationVerdict, signature: string): Promise<unknown>
  challengeResults (signed: SignedDealEvidence, challenge: ResultsChallenged, signature: string): Promise<unknown>
  commitResults (signed: SignedDealEvidence, results: ResultsSubmitted, signature: string): Promise<unknown>
  claimTimeoutSubmit (signed: SignedDealEvidence): Promise<unknown>
  claimTimeoutJudge (signed: SignedDealEvidence): Promise<unknown>
  claimTimeoutMediate (signed: SignedDealEvidence): Promise<unknown>
  /** the chain's record of a deal: its state, and its outcome once settled */
  dealRecord? (dealId: string): Promise<{ state: string, outcome?: string }>
}

/** Errors that mean another party already did what this output asks: settlement is first come, first served. */
const DONE_ALREADY = new Set(['ALREADY_SETTLED', 'ALREADY_CHALLENGED', 'RESULTS_ALREADY_COMMITTED'])
/**
 * Errors that refuse a claim because the deal went another way on chain: the claim was not valid,
 * and the deal's outcome is whatever the chain settles it to later (a TimeoutSubmit claim after the
 * provider committed its results in time; a TimeoutJudge claim after the job creator challenged).
 */
const OVERTAKEN: Record<string, Set<string>> = {
  TimeoutSubmit: new Set(['ALREADY_SETTLED', 'RESULTS_ALREADY_COMMITTED']),
  TimeoutJudge: new Set(['ALREADY_SETTLED', 'ALREADY_CHALLENGED']),
  TimeoutMediate: new Set(['ALREADY_SETTLED'])
}
/** Errors worth another try: the chain did not answer, or the transaction did not make it. */
const TRANSIENT = new Set(['CHAIN_UNAVAILABLE', 'TRANSACTION_FAILED'])

export interface ChainEffectsModules {
  store: MessageStore
  settlement: SettlementCalls
  /** accepted deals settle together: the first waits this long for others (0: one transaction each) */
  batchWindowMs?: number
  maxBatch?: number
  retryDelaysMs?: number[]
  /** how often, and how long at most, a claim or settlement waits for the chain to settle the deal */
  settledPollMs?: number
  settledWaitMs?: number
}

/**
 * Collects accepted deals for one `settleBatch` transaction: the happy path touches the chain once
 * for many deals. Each caller resolves or fails with the transaction that carried its deal.
 */
export class AcceptedBatcher {
  private pending: Array<{ item: AcceptedEvidence, resolve: () => void, reject: (err: unknown) => void }> = []
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly settleBatch: (items: AcceptedEvidence[]) => Promise<unknown>, private readonly windowMs: number, private readonly max: number) {}

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
      () => { for (const b of batch) b.resolve() },
      (err: unknown) => { for (const b of batch) b.reject(err) }
    )
    if (this.pending.length > 0) this.timer = setTimeout(() => this.flush(), this.windowMs)
  }
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** A sleep that ends early (and quietly) when `signal` aborts. */
const pause = (ms: number, signal: AbortSignal): Promise<void> => new Promise(resolve => {
  const timer = setTimeout(done, ms)
  function done (): void { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
  signal.addEventListener('abort', done)
})

/**
 * `chain.settle`, `chain.claim`, `chain.challenge`, `chain.commitResults`: put the signed messages
 * named as evidence on chain. Accepted deals settle in batches; a transaction another party already
 * made counts as done; a chain that does not answer is tried again a few times.
 *
 * A settlement or claim answers with `chain.settled` {dealId, outcome}: the outcome the chain holds
 * for the deal, which is the one the parties must record, whoever's transaction settled it.
 */
export function chainEffects ({ store, settlement, batchWindowMs = 1000, maxBatch = 100, retryDelaysMs = [500, 2000, 5000, 10_000], settledPollMs = 2000, settledWaitMs = 15 * 60_000 }: ChainEffectsModules): Record<string, EffectHandler> {
  const batcher = batchWindowMs > 0 ? new AcceptedBatcher(items => settlement.settleBatch(items), batchWindowMs, maxBatch) : undefined
  async function signedDeal (dealId: string): Promise<SignedDealEvidence> {
    const envelope = await store.require(dealId) as Envelope<'Deal'>
    if (envelope.signatures.length !== 2) throw new Error(`deal ${dealId} is not signed by both parties`)
    return { deal: envelope.message, jobCreatorSignature: envelope.signatures[0]!, resourceProviderSignature: envelope.signatures[1]! }
  }
  async function evidence<T> (id: unknown): Promise<{ message: T, signature: string }> {
    const envelope = await store.require(String(id))
    return { message: envelope.message as T, signature: envelope.signatures[0]! }
  }
  const once = async (call: () => Promise<unknown>, doneAlready = DONE_ALREADY): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await call()
        return
      } catch (err) {
        const code = (err as { code?: string }).code ?? ''
        if (doneAlready.has(code)) return
        if (!TRANSIENT.has(code) || attempt >= retryDelaysMs.length) throw err
        await sleep(retryDelaysMs[attempt]!)
      }
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
  const evidenceOf = (output: MachineOutput): unknown[] => Array.isArray(output.evidence) ? output.evidence : []

  return {
    'chain.settle': async (output, { signal }) => {
      const deal = await signedDeal(String(output.dealId))
      const proof = evidenceOf(output)[1]
      if (output.outcome === 'Accepted') {
        const accepted = await evidence<ResultsAccepted>(proof)
        await once(() => batcher !== undefined
          ? batcher.add({ signed: deal, acceptance: accepted.message, acceptanceSignature: accepted.signature })
          : settlement.settleAccepted(deal, accepted.message, accepted.signature))
      } else {
        const verdict = await evidence<MediationVerdict>(proof)
        await once(() => settlement.settleVerdict(deal, verdict.message, verdict.signature))
      }
      return await settled(String(output.dealId), signal)
    },
    'chain.claim': async (output, { signal }) => {
      const deal = await signedDeal(String(output.dealId))
      const overtaken = OVERTAKEN[String(output.claim)]
      switch (output.claim) {
        case 'TimeoutSubmit': await once(() => settlement.claimTimeoutSubmit(deal), overtaken); break
        case 'TimeoutJudge': await once(() => settlement.claimTimeoutJudge(deal), overtaken); break
        case 'TimeoutMediate': await once(() => settlement.claimTimeoutMediate(deal), overtaken); break
        default: throw new Error(`unknown claim ${String(output.claim)}`)
      }
      return await settled(String(output.dealId), signal)
    },
    'chain.challenge': async (output) => {
      const deal = await signedDeal(String(output.dealId))
      const challenge = await evidence<ResultsChallenged>(evidenceOf(output)[1])
      await once(() => settlement.challengeResults(deal, challenge.message, challenge.signature))
    },
    'chain.commitResults': async (output) => {
      const deal = await signedDeal(String(output.dealId))
      const results = await evidence<ResultsSubmitted>(`results:${String(output.dealId)}`)
      await once(() => settlement.commitResults(deal, results.message, results.signature))
    }
  }
}
