import type { Envelope } from '../../protocols/messages/envelope.ts'
import { LIMITS } from '../../protocols/messages/fields.ts'
import type { SideWrite, StringBucket } from '../eventlog/event-log.ts'

const UNTIL = 'until:'
/** ms timestamps as fixed-width text, so that keys sort as times do */
const pad = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(16, '0')

/**
 * The last moment a message can matter to a deal: a deal's own mediate deadline; for any other
 * message, the furthest a deal it can be part of may reach (agreed at most a window after the
 * message expires, and lasting at most the longest deal after that).
 */
export function lastDeadlineOf (envelope: Envelope): number {
  const m = envelope.message as { expiry?: unknown, mediateDeadline?: unknown }
  if (envelope.type === 'Deal' && typeof m.mediateDeadline === 'number') return m.mediateDeadline
  const expiry = typeof m.expiry === 'number' ? m.expiry : 0
  return expiry + LIMITS.maxWindowMs + LIMITS.maxDealLifetimeMs
}

/**
 * Every signed message a node has sent or received, by message id, and its own by the output id
 * that sent it: machines name attachments and settlement evidence by those ids. Kept in LevelDB
 * beside the log so that re-sent outputs and evidence survive a restart, and collected once past
 * the last deadline of any deal they can be part of, and a retention after it (`collect`).
 */
export class MessageStore {
  constructor (private readonly bucket: StringBucket) {}

  /** Stores an envelope; a Deal keeps the copy with the most signatures. */
  async put (id: string, envelope: Envelope, alias?: string): Promise<void> {
    await this.bucket.batch((await this.writes(id, envelope, alias)).map(w => ({ type: 'put' as const, key: w.key, value: w.value })))
  }

  /**
   * What storing an envelope writes, for a caller that writes it in a batch of its own (the runtime
   * stores a node's own signed messages with the outputs that send them).
   */
  async writes (id: string, envelope: Envelope, alias?: string): Promise<SideWrite[]> {
    // only a Deal gathers signatures; any other message is the same text whoever stores it
    const existing = envelope.type === 'Deal' ? await this.get(id) : undefined
    const keep = existing !== undefined && existing.signatures.length > envelope.signatures.length ? existing : envelope
    const value = JSON.stringify(keep)
    const writes: SideWrite[] = [{ bucket: 'messages', key: `id:${id}`, value }]
    if (alias !== undefined) writes.push({ bucket: 'messages', key: `out:${alias}`, value })
    // an index by the time after which the message can be dropped, naming what to drop
    const keys = writes.map(w => w.key)
    writes.push({ bucket: 'messages', key: `${UNTIL}${pad(lastDeadlineOf(envelope))}:${keys.join(',')}`, value: JSON.stringify(keys) })
    return writes
  }

  /** Drops every message whose last deadline passed more than `retentionMs` before `now`; returns how many copies went. */
  async collect (now: number, retentionMs: number): Promise<number> {
    const dropped: string[] = []
    let copies = 0
    for await (const [key, value] of this.bucket.iterator({ gte: UNTIL, lt: `${UNTIL}${pad(now - retentionMs)}` })) {
      copies++
      dropped.push(key, ...(JSON.parse(value) as string[]))
    }
    if (dropped.length > 0) await this.bucket.batch(dropped.map(key => ({ type: 'del' as const, key })))
    return copies
  }

  async get (idOrOutputId: string): Promise<Envelope | undefined> {
    const [byId, byOutput] = await this.bucket.getMany([`id:${idOrOutputId}`, `out:${idOrOutputId}`])
    const text = byId ?? byOutput
    return text === undefined ? undefined : JSON.parse(text) as Envelope
  }

  /**
   * The message, which must be here: a node's own messages are stored with the outputs that send
   * them, and a received message before the machine hears of it.
   */
  async require (idOrOutputId: string): Promise<Envelope> {
    const envelope = await this.get(idOrOutputId)
    if (envelope === undefined) throw new Error(`no signed message ${idOrOutputId} is known to this node`)
    return envelope
  }
}
