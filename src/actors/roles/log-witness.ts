/**
 * A node's log, witnessed by its counterparties to its last record.
 *
 * Every direct message carries its sender's signed log head, but what a node logs after its last
 * message (the acknowledgement of that send, the settlement it saw, the offer it published next) no
 * counterparty has seen: cut away, nothing would tell. So once the log has gone quiet past the last
 * head a counterparty holds, the node sends its head to the peers it dealt with since (a head
 * notice). Each logs it in a `witness` record and answers with its own signed head, which covers
 * that record. The node keeps the answer beside its log, outside the hash chain, so that the answer
 * needs no answer in turn. At rest, then, every record of a log is covered by a head some
 * counterparty holds, and a log cut by any number of records is caught against theirs.
 */
import type { EventLog } from '../eventlog/event-log.ts'
import { signedHead, type LogSigner } from '../eventlog/checkpoint.ts'
import { headSigner, isSignedHead, type SignedHead } from '../../protocols/messages/log-head.ts'

/** The record type of a counterparty's head, as a node witnessed it. */
export const WITNESS_RECORD = 'witness'

/** The key prefix, in the messages bucket, of the latest head each counterparty answered a notice with. */
export const RECEIPT_PREFIX = 'head:'

/** How a notice reaches a counterparty: resolves with its signed head once it logged ours. */
export interface HeadLink {
  exchangeHead: (address: string, head: SignedHead, signal?: AbortSignal) => Promise<SignedHead>
}

export interface LogWitnessOptions {
  /** how often the log is looked at; it is quiet when it did not grow between two looks (default 1 s) */
  quietMs?: number
  /** a log that never goes quiet is witnessed at least this often (default 30 s) */
  maxDelayMs?: number
  /**
   * how long after its last message a peer is still told of the log's growth (default 10 min): what
   * a deal brings after its last message (a settlement confirmed on chain) is the peer's to witness
   */
  lingerMs?: number
  /** notices taken from one peer at most this often; a faster one is refused (default 1 s) */
  minIntervalMs?: number
  now?: () => number
  onError?: (err: Error, peer: string) => void
}

/** Failed notices to one peer before it is given up on; each waits twice as long as the one before. */
const MAX_FAILURES = 5
/** Peers remembered as counterparties, whose notices are taken. */
const MAX_CORRESPONDENTS = 4096
/**
 * Notices a peer may have logged here ahead: one more for each direct message between the two, up
 * to this many. A peer's notices follow its dealings, so its records here grow with the messages
 * it exchanged, not with the notices it cares to send.
 */
const MAX_NOTICES_AHEAD = 8

interface Owed {
  /** the highest record of this log the peer holds a head of (from a notice or its answer) */
  covered: number
  /** notices it will still take: it counts the messages between the two as this node does (MAX_NOTICES_AHEAD) */
  notices: number
  /** told of the log's growth until then */
  until: number
  failures: number
  /** not tried again before then, after a failure */
  retryAt: number
}

interface Correspondent {
  /** the newest of its heads logged here, when, and how many more notices it may have logged */
  seq: number
  at: number
  allowance: number
}

export class LogWitness {
  /** peers this node dealt with lately, and how far each saw its log */
  private readonly owed = new Map<string, Owed>()
  private readonly correspondents = new Map<string, Correspondent>()
  private lastLength = -1
  private dueSince: number | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  private flushing: Promise<void> | undefined
  private readonly options: Required<Omit<LogWitnessOptions, 'onError'>> & Pick<LogWitnessOptions, 'onError'>

  constructor (private readonly log: EventLog, private readonly signer: LogSigner, private readonly link: HeadLink, options: LogWitnessOptions = {}) {
    this.options = { quietMs: 1000, maxDelayMs: 30_000, lingerMs: 600_000, minIntervalMs: 1000, now: Date.now, ...options }
  }

  /**
   * This log's head under the node's signature, to go with a message to `to`. It does not count as
   * seen: the message may not get there, and the log grows as it is sent.
   */
  head (to: string): SignedHead {
    this.dealtWith(to)
    return signedHead(this.signer, this.log)
  }

  /** A direct message came from `from`: it is owed this log's head once the log goes quiet. */
  heard (from: string): void {
    this.dealtWith(from)
  }

  private dealtWith (address: string): void {
    const peer = address.toLowerCase()
    const until = this.options.now() + this.options.lingerMs
    const owed = this.owed.get(peer)
    if (owed === undefined || owed.failures >= MAX_FAILURES) {
      this.owed.set(peer, { covered: owed?.covered ?? 0, notices: Math.min((owed?.notices ?? 0) + 1, MAX_NOTICES_AHEAD), until, failures: 0, retryAt: 0 })
    } else {
      owed.until = until
      owed.notices = Math.min(owed.notices + 1, MAX_NOTICES_AHEAD)
    }
    const known = this.correspondents.get(peer) ?? { seq: 0, at: -Infinity, allowance: 0 }
    known.allowance = Math.min(known.allowance + 1, MAX_NOTICES_AHEAD)
    this.correspondents.delete(peer)
    this.correspondents.set(peer, known)
    if (this.correspondents.size > MAX_CORRESPONDENTS) this.correspondents.delete(this.correspondents.keys().next().value!)
  }

  /**
   * A counterparty's notice: logs its head and answers with this log's, which covers that record.
   * Only a peer this node dealt with is heard, at most once a `minIntervalMs` and once for each
   * message between the two (MAX_NOTICES_AHEAD); a head no newer than the last one logged is
   * answered without logging it again.
   */
  async serve (from: string, head: SignedHead): Promise<SignedHead> {
    const peer = from.toLowerCase()
    if (!isSignedHead(head) || headSigner(head)?.toLowerCase() !== peer) throw new Error(`the head is not signed by ${from}`)
    const known = this.correspondents.get(peer)
    if (known === undefined) throw new Error(`${from} has no dealings with this node: its head is not witnessed here`)
    if (head.seq > known.seq) {
      const now = this.options.now()
      if (now - known.at < this.options.minIntervalMs) throw new Error(`${from} sends its head more often than once a ${this.options.minIntervalMs} ms`)
      if (known.allowance <= 0) throw new Error(`${from} sends more head notices than it exchanged messages with this node`)
      // taken before the append, so that notices at once cannot all pass; given back if it fails
      const before = { ...known }
      Object.assign(known, { seq: head.seq, at: now, allowance: known.allowance - 1 })
      try {
        await this.log.append([{ type: WITNESS_RECORD, data: head }])
      } catch (err) {
        Object.assign(known, before)
        throw err
      }
    }
    const receipt = signedHead(this.signer, this.log)
    const owed = this.owed.get(peer)
    if (owed !== undefined) owed.covered = Math.max(owed.covered, receipt.seq)
    return receipt
  }

  start (): void {
    this.timer ??= setInterval(() => { this.look() }, this.options.quietMs)
    this.timer.unref?.()
  }

  /** Stops looking; a notice on its way is waited for. */
  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flushing
  }

  private look (): void {
    const length = this.log.length
    const quiet = length === this.lastLength
    this.lastLength = length
    if (this.flushing !== undefined) return
    const now = this.options.now()
    if (![...this.owed.values()].some(o => this.isDue(o, length, now))) {
      this.dueSince = undefined
      return
    }
    this.dueSince ??= now
    if (quiet || now - this.dueSince >= this.options.maxDelayMs) void this.flush()
  }

  private isDue (o: Owed, length: number, now: number): boolean {
    return o.covered < length && o.notices > 0 && o.failures < MAX_FAILURES && o.retryAt <= now
  }

  /** Sends this log's head now to every peer owed it; resolves when each answered or failed. */
  async flush (signal?: AbortSignal): Promise<void> {
    if (this.flushing !== undefined) return await this.flushing
    this.flushing = this.notifyAll(signal).finally(() => { this.flushing = undefined })
    await this.flushing
  }

  private async notifyAll (signal?: AbortSignal): Promise<void> {
    const now = this.options.now()
    const length = this.log.length
    const due = [...this.owed].filter(([, o]) => this.isDue(o, length, now))
    if (due.length > 0) {
      const head = signedHead(this.signer, this.log)
      await Promise.all(due.map(async ([peer, owed]) => {
        try {
          const receipt = await this.link.exchangeHead(peer, head, signal)
          if (!isSignedHead(receipt) || headSigner(receipt)?.toLowerCase() !== peer) throw new Error(`${peer} answered with a head it did not sign`)
          await this.keep(peer, receipt)
          owed.covered = Math.max(owed.covered, head.seq)
          owed.notices--
          owed.failures = 0
        } catch (err) {
          owed.failures++
          owed.retryAt = this.options.now() + this.options.quietMs * 2 ** owed.failures
          this.options.onError?.(err as Error, peer)
        }
      }))
    }
    // a peer whose dealings are long past, and that saw all, or was given up on, is forgotten
    const later = this.options.now()
    for (const [peer, o] of this.owed) {
      if (later >= o.until && (o.covered >= this.log.length || o.notices === 0 || o.failures >= MAX_FAILURES)) this.owed.delete(peer)
    }
    this.dueSince = undefined
  }

  /** Keeps a counterparty's answer beside the log: the latest, which covers every earlier one. */
  private async keep (peer: string, receipt: SignedHead): Promise<void> {
    const bucket = this.log.bucket('messages')
    const key = RECEIPT_PREFIX + peer
    const [kept] = await bucket.getMany([key])
    if (kept !== undefined && (JSON.parse(kept) as SignedHead).seq >= receipt.seq) return
    await bucket.put(key, JSON.stringify(receipt))
  }
}
