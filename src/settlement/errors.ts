/**
 * Errors of the chain adapter, each with a stable `code`. Reverts of the contracts are decoded from
 * their custom errors into one of these, with a message a person can act on.
 */
import type { Interface, Result } from 'ethers'
import { DEAL_STATES } from '../state-machines/deal-states.ts'

export type SettlementErrorCode =
  | 'INSUFFICIENT_DEPOSIT'
  | 'BAD_SIGNATURE'
  | 'WRONG_SIGNER'
  | 'WRONG_AUTHOR'
  | 'WRONG_DEAL'
  | 'ALREADY_SETTLED'
  | 'ALREADY_LOCKED'
  | 'DEADLINE_NOT_PASSED'
  | 'DEADLINE_PASSED'
  | 'RESULTS_ALREADY_COMMITTED'
  | 'NO_RESULTS_COMMITTED'
  | 'ALREADY_CHALLENGED'
  | 'NOT_CHALLENGED'
  | 'RESULTS_MISMATCH'
  | 'NO_MEDIATORS'
  | 'NOT_THE_MEDIATOR'
  | 'CASE_NOT_TAKEN'
  | 'BAD_QUORUM'
  | 'ALREADY_VOTED'
  | 'NOT_CLAIMANT'
  | 'UNDERCOLLATERALISED'
  | 'BAD_DEADLINES'
  | 'ZERO_AMOUNT'
  | 'NO_WITHDRAWAL_REQUESTED'
  | 'WITHDRAWAL_NOT_READY'
  | 'TOKEN_INSUFFICIENT_BALANCE'
  | 'TOKEN_INSUFFICIENT_ALLOWANCE'
  | 'WRONG_TOKEN'
  | 'DEADLINE_NOT_AHEAD'
  | 'ZERO_CLAIM_WINDOW'
  | 'FEE_ABOVE_PAYMENT'
  | 'CALLBACK_GAS_TOO_HIGH'
  | 'REQUEST_NOT_OPEN'
  | 'REQUEST_EXPIRED'
  | 'REQUEST_NOT_EXPIRED'
  | 'ALREADY_CLAIMED'
  | 'DEAL_NOT_SETTLED'
  | 'DEAL_NOT_ACCEPTED'
  | 'RESULTS_NOT_OF_DEAL'
  | 'RESULTS_NOT_BY_PROVIDER'
  | 'OFFER_NOT_OF_DEAL'
  | 'OFFER_NOT_BY_CREATOR'
  | 'OFFER_FOR_ANOTHER_REQUEST'
  | 'OFFER_NOT_AS_REQUESTED'
  | 'PAYMENT_SHORT'
  | 'CALLBACK_GAS_SHORT'
  | 'OUTPUT_LIMIT_TOO_HIGH'
  | 'AMOUNT_TOO_LARGE'
  | 'OUTPUT_HALF_ASKED'
  | 'NOT_A_CID_V0'
  | 'BLOCK_NOT_OF_LINK'
  | 'BAD_BLOCK'
  | 'NOT_A_DIRECTORY'
  | 'NOT_A_FILE'
  | 'NO_SUCH_ENTRY'
  | 'PROOF_SHORT'
  | 'BAD_PATH'
  | 'NOT_OWNER'
  | 'NOT_THE_JOBS_CONTRACT'
  | 'BAD_MESSAGE'
  | 'REVERTED'
  | 'TRANSACTION_FAILED'
  | 'CHAIN_UNAVAILABLE'
  | 'DEV_CHAIN_UNAVAILABLE'
  | 'BAD_EVIDENCE'

export class SettlementError extends Error {
  override readonly name = 'SettlementError'
  constructor (
    readonly code: SettlementErrorCode,
    message: string,
    /** the contract error's name and arguments, when the chain reverted */
    readonly revert?: { name: string, args: Record<string, unknown> }
  ) {
    super(`${code}: ${message}`)
  }
}

const short = (v: unknown): string => {
  const s = String(v)
  return /^0x[0-9a-fA-F]{64}$/.test(s) ? `${s.slice(0, 10)}…` : s
}

const msToIso = (ms: unknown): string => new Date(Number(ms)).toISOString()

type Describe = (a: Record<string, unknown>) => string

const REQUEST_STATUSES = ['unknown', 'open', 'delivered', 'refunded']

/** Contract custom error → code and message. */
const REVERTS: Record<string, [SettlementErrorCode, Describe]> = {
  InsufficientDeposit: ['INSUFFICIENT_DEPOSIT', a => `insufficient deposit: ${String(a.account)} has ${String(a.available)} but ${String(a.needed)} is needed`],
  BadSignature: ['BAD_SIGNATURE', a => `bad signature: not a valid ECDSA signature over ${short(a.digest)}`],
  WrongSigner: ['WRONG_SIGNER', a => `bad signature: signed by ${String(a.actual)}, expected ${String(a.expected)}`],
  WrongAuthor: ['WRONG_AUTHOR', a => `the message's author is ${String(a.actual)}, expected ${String(a.expected)}`],
  WrongDeal: ['WRONG_DEAL', a => `the message is about deal ${short(a.actual)}, not ${short(a.expected)}`],
  AlreadySettled: ['ALREADY_SETTLED', a => `deal ${short(a.dealId)} is already settled`],
  AlreadyLocked: ['ALREADY_LOCKED', a => `deal ${short(a.dealId)} is already locked`],
  DeadlineNotPassed: ['DEADLINE_NOT_PASSED', a => `deadline not passed for deal ${short(a.dealId)}: it is ${msToIso(a.deadline)}, chain time is ${msToIso(a.nowMs)}`],
  DeadlinePassed: ['DEADLINE_PASSED', a => `deadline passed for deal ${short(a.dealId)}: it was ${msToIso(a.deadline)}, chain time is ${msToIso(a.nowMs)}`],
  ResultsAlreadyCommitted: ['RESULTS_ALREADY_COMMITTED', a => `results of deal ${short(a.dealId)} were committed on chain in time`],
  NoResultsCommitted: ['NO_RESULTS_COMMITTED', a => `no results of deal ${short(a.dealId)} were committed on chain`],
  AlreadyChallenged: ['ALREADY_CHALLENGED', a => `deal ${short(a.dealId)} is already challenged`],
  NotChallenged: ['NOT_CHALLENGED', a => `deal ${short(a.dealId)} was not challenged on chain`],
  ResultsMismatch: ['RESULTS_MISMATCH', a => `the results CID differs from the one on chain for deal ${short(a.dealId)}`],
  NoMediators: ['NO_MEDIATORS', a => `deal ${short(a.dealId)} names no mediator to judge a challenge`],
  NotTheMediator: ['NOT_THE_MEDIATOR', a => `${String(a.caller)} is not the judge drawn for deal ${short(a.dealId)}, nor on its panel`],
  BadQuorum: ['BAD_QUORUM', a => `deal ${short(a.dealId)} asks for more matching verdicts than it has mediators`],
  AlreadyVoted: ['ALREADY_VOTED', a => `mediator ${String(a.mediator)} already gave its verdict on deal ${short(a.dealId)}`],
  CaseNotTaken: ['CASE_NOT_TAKEN', a => `the mediator of deal ${short(a.dealId)} did not take its case: no verdict settles it`],
  NotClaimant: ['NOT_CLAIMANT', a => `${String(a.caller)} may not make this claim on deal ${short(a.dealId)}`],
  Undercollateralised: ['UNDERCOLLATERALISED', a => `deal ${short(a.dealId)}: collaterals do not cover its price and fees`],
  BadDeadlines: ['BAD_DEADLINES', a => `deal ${short(a.dealId)}: deadlines are not ordered expiry <= agree <= submit <= judge <= mediate, or the mediate deadline is more than the withdrawal delay after the agree deadline`],
  ZeroAmount: ['ZERO_AMOUNT', () => 'the amount must be more than zero'],
  NoWithdrawalRequested: ['NO_WITHDRAWAL_REQUESTED', a => `${String(a.account)} has not requested a withdrawal`],
  WithdrawalNotReady: ['WITHDRAWAL_NOT_READY', a => `withdrawal delay not over: ${String(a.account)} may withdraw at ${new Date(Number(a.unlockAt) * 1000).toISOString()}, chain time is ${new Date(Number(a.blockTime) * 1000).toISOString()}`],
  ERC20InsufficientBalance: ['TOKEN_INSUFFICIENT_BALANCE', a => `${String(a.sender)} holds ${String(a.balance)} tokens but ${String(a.needed)} are needed`],
  ERC20InsufficientAllowance: ['TOKEN_INSUFFICIENT_ALLOWANCE', a => `the settlement contract may spend ${String(a.allowance)} of ${String(a.spender)}'s tokens but ${String(a.needed)} are needed`],
  // LilypadJobs and its example client
  WrongToken: ['WRONG_TOKEN', a => `the settlement contract's token is ${String(a.expected)}, not ${String(a.actual)}`],
  DeadlineNotAhead: ['DEADLINE_NOT_AHEAD', a => `the request's deadline ${msToIso(a.deadline)} is not after chain time ${msToIso(a.nowMs)}`],
  ZeroClaimWindow: ['ZERO_CLAIM_WINDOW', () => 'the claim window must be more than zero'],
  FeeAbovePayment: ['FEE_ABOVE_PAYMENT', a => `the relayer's fee ${String(a.relayerFee)} is more than the payment ${String(a.payment)}`],
  CallbackGasTooHigh: ['CALLBACK_GAS_TOO_HIGH', a => `a callback may have at most ${String(a.max)} gas, not ${String(a.callbackGasLimit)}`],
  RequestNotOpen: ['REQUEST_NOT_OPEN', a => `request ${short(a.requestId)} is ${REQUEST_STATUSES[Number(a.status)] ?? String(a.status)}, not open`],
  RequestExpired: ['REQUEST_EXPIRED', a => `request ${short(a.requestId)}'s deadline passed: it was ${msToIso(a.deadline)}, chain time is ${msToIso(a.nowMs)}`],
  RequestNotExpired: ['REQUEST_NOT_EXPIRED', a => `request ${short(a.requestId)}'s deadline has not passed: it is ${msToIso(a.deadline)}, chain time is ${msToIso(a.nowMs)}`],
  AlreadyClaimed: ['ALREADY_CLAIMED', a => `request ${short(a.requestId)} is claimed by ${String(a.relayer)} until ${msToIso(a.until)}`],
  DealNotSettled: ['DEAL_NOT_SETTLED', a => `deal ${short(a.dealId)} is not settled`],
  DealNotAccepted: ['DEAL_NOT_ACCEPTED', a => `deal ${short(a.dealId)} settled ${DEAL_STATES[Number(a.outcome)] ?? String(a.outcome)}: its results were not accepted`],
  ResultsNotOfDeal: ['RESULTS_NOT_OF_DEAL', a => `the results CID is not the one the settlement contract holds for deal ${short(a.dealId)}`],
  ResultsNotByProvider: ['RESULTS_NOT_BY_PROVIDER', a => `the results are not signed by the provider of deal ${short(a.dealId)}`],
  OfferNotOfDeal: ['OFFER_NOT_OF_DEAL', a => `the job offer's id is ${short(a.offerId)}, but the deal names ${short(a.jobOfferId)}`],
  OfferNotByCreator: ['OFFER_NOT_BY_CREATOR', a => `the job offer's author is ${String(a.author)}, not the deal's job creator ${String(a.jobCreator)}`],
  OfferForAnotherRequest: ['OFFER_FOR_ANOTHER_REQUEST', a => `the job offer's nonce ${String(a.nonce)} is not request ${short(a.requestId)}`],
  OfferNotAsRequested: ['OFFER_NOT_AS_REQUESTED', a => `the job offer's module, inputs or input data, or the output's path, are not those of request ${short(a.requestId)}`],
  PaymentShort: ['PAYMENT_SHORT', a => `request ${short(a.requestId)} pays ${String(a.payment)}, but the deal's cost and the relayer's fee are ${String(a.needed)}`],
  CallbackGasShort: ['CALLBACK_GAS_SHORT', a => `${String(a.left)} gas left, but the callback needs ${String(a.needed)}: send the transaction with more gas`],
  AmountTooLarge: ['AMOUNT_TOO_LARGE', a => `${String(a.amount)} wei is more than a request can hold`],
  OutputLimitTooHigh: ['OUTPUT_LIMIT_TOO_HIGH', a => `a request may have at most ${String(a.max)} bytes of output brought back, not ${String(a.outputLimit)}`],
  OutputHalfAsked: ['OUTPUT_HALF_ASKED', () => 'an output needs both its path and its limit (or neither)'],
  NotACidV0: ['NOT_A_CID_V0', a => `${JSON.stringify(String(a.cid))} is not a CIDv0 (Qm...), which results folders are`],
  BlockNotOfLink: ['BLOCK_NOT_OF_LINK', a => `block ${String(a.index)} of the output's proof is not the one its parent links to`],
  BadBlock: ['BAD_BLOCK', a => `block ${String(a.index)} of the output's proof is not a dag-pb node with UnixFS data`],
  NotADirectory: ['NOT_A_DIRECTORY', a => `block ${String(a.index)} of the output's proof is not a folder`],
  NotAFile: ['NOT_A_FILE', a => `block ${String(a.index)} of the output's proof is not a file`],
  NoSuchEntry: ['NO_SUCH_ENTRY', a => `the folder of block ${String(a.index)} holds no ${JSON.stringify(String(a.name))}`],
  ProofShort: ['PROOF_SHORT', a => `the output's proof ends after ${String(a.blocks)} blocks`],
  BadPath: ['BAD_PATH', a => `${JSON.stringify(String(a.path))} is not a path inside a results folder`],
  NotOwner: ['NOT_OWNER', a => `${String(a.caller)} is not the contract's owner`],
  NotTheJobsContract: ['NOT_THE_JOBS_CONTRACT', a => `${String(a.caller)} is not the jobs contract`],
  BadMessage: ['BAD_MESSAGE', a => `the message has a quote, a backslash or a control character at byte ${String(a.index)}`]
}

function argsOf (result: Result, names: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  names.forEach((name, i) => { out[name] = result[i] })
  return out
}

/** Finds revert data (0x…) anywhere ethers may have put it. */
export function revertDataOf (err: unknown): string | undefined {
  const seen = new Set<unknown>()
  const visit = (v: unknown, depth: number): string | undefined => {
    if (v === null || typeof v !== 'object' || seen.has(v) || depth > 5) return undefined
    seen.add(v)
    const o = v as Record<string, unknown>
    if (typeof o.data === 'string' && /^0x[0-9a-fA-F]{8,}$/.test(o.data)) return o.data
    for (const key of ['error', 'info', 'cause', 'receipt']) {
      const found = visit(o[key], depth + 1)
      if (found !== undefined) return found
    }
    return undefined
  }
  return visit(err, 0)
}

/** Turns an error from a contract call into a SettlementError (or returns undefined if it carries no revert data). */
export function decodeRevert (err: unknown, iface: Interface): SettlementError | undefined {
  if (err instanceof SettlementError) return err
  const data = revertDataOf(err)
  if (data === undefined) return undefined
  const parsed = (() => {
    try { return iface.parseError(data) } catch { return null }
  })()
  if (parsed === null) return new SettlementError('REVERTED', `the contract reverted with unknown data ${data.slice(0, 74)}`)
  const names = parsed.fragment.inputs.map(i => i.name)
  const args = argsOf(parsed.args, names)
  const known = REVERTS[parsed.name]
  if (known === undefined) return new SettlementError('REVERTED', `the contract reverted: ${parsed.name}(${names.map(n => String(args[n])).join(', ')})`, { name: parsed.name, args })
  const [code, describe] = known
  return new SettlementError(code, describe(args), { name: parsed.name, args })
}

/** The code of the contract error with this 4-byte selector (as a SettlementFailed event reports it). */
export function errorCodeOfSelector (selector: string, iface: Interface): SettlementErrorCode {
  const name = iface.getError(selector)?.name
  return (name === undefined ? undefined : REVERTS[name]?.[0]) ?? 'REVERTED'
}

/**
 * What a socket says when the chain's endpoint cannot be reached, for now: refused, reset, no route
 * (a link that is down: `connect EINVAL` on an interface without an address), a name not resolved yet.
 */
const UNREACHABLE = /ECONNREFUSED|ECONNRESET|EINVAL|EHOSTUNREACH|ENETUNREACH|ENETDOWN|ETIMEDOUT|EAI_AGAIN|fetch failed|socket hang up/

/** A plain-language SettlementError for anything a chain call threw. */
export function toSettlementError (err: unknown, iface: Interface): SettlementError {
  const decoded = decodeRevert(err, iface)
  if (decoded !== undefined) return decoded
  const e = err as { code?: string, shortMessage?: string, message?: string, error?: { message?: unknown } }
  const outer = e.shortMessage ?? e.message ?? String(err)
  // a JSON-RPC error ethers could not classify keeps the node's own words inside: they say what went wrong
  const inner = typeof e.error?.message === 'string' ? e.error.message : undefined
  const text = inner === undefined || outer.includes(inner) ? outer : `${outer}: ${inner}`
  if (e.code === 'NETWORK_ERROR' || e.code === 'TIMEOUT' || UNREACHABLE.test(text)) {
    return new SettlementError('CHAIN_UNAVAILABLE', `the chain did not answer: ${text}`)
  }
  return new SettlementError('TRANSACTION_FAILED', text)
}
