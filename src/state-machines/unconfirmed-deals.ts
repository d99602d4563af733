/**
 * Deals a job creator signed whose co-signature never reached it in time.
 *
 * The provider may have co-signed all the same, before the agree deadline, and delivered its
 * co-signature late or never (a crash, or on purpose). Holding the deal signed by both, it can
 * commit results on chain and claim TimeoutJudge: a creator that took the deal as fallen through
 * would lose the price and its timeout collateral. So the creator keeps each such deal until it is
 * sure. Halfway through the judge window (no commitment can come after the submit deadline) it reads
 * the chain: a deal with nothing committed binds no one. Results committed there are challenged on
 * chain, which stops the TimeoutJudge claim; an honest provider brings the challenge to the mediators
 * (it holds the deal both signed), and once the mediate deadline passes the creator claims
 * TimeoutMediate, which settles nothing twice: a verdict that settled first stands.
 */
import type { Deal } from '../protocols/messages/schemas.ts'
import type { Messages } from '../protocols/messages/signing.ts'
import { expectMessage, expectTimer, sendOutput, type DomainJson } from './common.ts'
import type { Deadlines, InputEvent, MachineOutput } from './contract.ts'
import { expectResultsOf, settleGuardAt } from './deal-lifecycle.ts'

export interface UnconfirmedDeal {
  dealId: string
  deal: Deal
  /** what the creator does next: read the chain, or claim TimeoutMediate on the deal it challenged */
  step: 'watch' | 'claim'
  /** when it does it; null while the effect it started is out */
  wake: number | null
}

const TIMER = 'unconfirmed:'
/** at most this many kept: the creator signs one deal per agree window, and each is dropped once sure */
const MAX_KEPT = 16
/** a chain that could not be read is read again this much later, while the judge window lasts */
const RETRY_MS = 5_000

export function keepUnconfirmed (kept: readonly UnconfirmedDeal[], dealId: string, deal: Deal): UnconfirmedDeal[] {
  return [...kept.filter(u => u.dealId !== dealId), { dealId, deal, step: 'watch' as const, wake: settleGuardAt(deal) }].slice(-MAX_KEPT)
}

/** The deadlines with the timers of the kept deals in place of those they held before. */
export function withUnconfirmedTimers (deadlines: Deadlines, kept: readonly UnconfirmedDeal[]): Deadlines {
  const out: Deadlines = {}
  for (const [name, at] of Object.entries(deadlines)) if (!name.startsWith(TIMER)) out[name] = at
  for (const u of kept) if (u.wake !== null) out[`${TIMER}${u.dealId}`] = u.wake
  return out
}

interface Step { kept: UnconfirmedDeal[], outputs: MachineOutput[] }

/**
 * The creator's step for an event about one of its kept deals; undefined for any other event.
 * `author` is the creator's address, which signs its challenges.
 */
export function decideUnconfirmed (
  messages: Messages, domain: DomainJson, author: string, kept: readonly UnconfirmedDeal[], deadlines: Deadlines, e: InputEvent
): Step | undefined {
  const dealId = aboutDeal(e)
  const entry = dealId === undefined ? undefined : kept.find(u => u.dealId === dealId)
  if (entry === undefined) return undefined
  const others = kept.filter(u => u !== entry)
  const replace = (next: UnconfirmedDeal, outputs: MachineOutput[] = []): Step => ({ kept: [...others, next], outputs })
  const drop: Step = { kept: others, outputs: [] }
  const { deal } = entry

  switch (e.type) {
    case 'timer.fired': {
      expectTimer(deadlines, e)
      if (entry.step === 'claim') {
        return replace({ ...entry, wake: null }, [{ type: 'chain.claim', id: `unconfirmed-claim:${entry.dealId}`, dealId: entry.dealId, claim: 'TimeoutMediate', evidence: [entry.dealId] }])
      }
      return replace({ ...entry, wake: null }, [{ type: 'chain.watch', id: `${TIMER}${entry.dealId}:${e.at}`, dealId: entry.dealId, commitment: true }])
    }
    case 'chain.observed':
      // our challenge went through although its answer was lost: claim at the mediate deadline
      if (e.state === 'Mediating') return replace({ ...entry, step: 'claim', wake: deal.mediateDeadline + 1 })
      // nothing committed by the submit deadline (or the deal settled): it binds no one
      return drop
    case 'chain.committed': {
      if (e.at > deal.judgeDeadline) return drop
      const results = expectMessage(messages, domain, e.envelope, 'ResultsSubmitted', e.at, { ignoreExpiry: true })
      expectResultsOf(deal, entry.dealId, results)
      const challenge = { author, nonce: String(e.at), expiry: deal.mediateDeadline, dealId: entry.dealId, resultsCid: results.message.resultsCid }
      const messageId = `unconfirmed-challenge:${entry.dealId}`
      return replace({ ...entry, step: 'claim', wake: deal.mediateDeadline + 1 }, [
        // signed and kept as evidence; the provider learns of it from the chain
        sendOutput(messageId, 'ResultsChallenged', challenge, []),
        { type: 'chain.challenge', id: `unconfirmed-chain-challenge:${entry.dealId}`, dealId: entry.dealId, evidence: [entry.dealId, messageId, results.id] }
      ])
    }
    case 'effect.failed': {
      // a read or a challenge that did not go through is tried again while it can still matter
      const retryAt = e.at + RETRY_MS
      if (String(e.effect).startsWith('unconfirmed-claim:') || retryAt >= deal.judgeDeadline) return drop
      return replace({ ...entry, step: 'watch', wake: retryAt })
    }
    case 'chain.settled': return drop
    default: return undefined
  }
}

/** The kept deal an event is about: a timer of ours, or the answer to an effect we started. */
function aboutDeal (e: InputEvent): string | undefined {
  if (e.type === 'timer.fired') {
    const timer = String(e.timer)
    return timer.startsWith(TIMER) ? timer.slice(TIMER.length) : undefined
  }
  const effect = typeof e.effect === 'string' ? e.effect : ''
  const match = /^unconfirmed(?:-claim|-chain-challenge|-challenge)?:(0x[0-9a-fA-F]{64})/.exec(effect)
  return match?.[1]
}
