import type { Envelope } from '../../protocols/messages/envelope.ts'
import type { StringBucket } from '../eventlog/event-log.ts'

/**
 * Every signed message a node has sent or received, by message id, and its own by the output id
 * that sent it: machines name attachments and settlement evidence by those ids. Kept in LevelDB
 * beside the log so that re-sent outputs and evidence survive a restart.
 */
export class MessageStore {
  private readonly waiting = new Map<string, Array<() => void>>()

  constructor (private readonly bucket: StringBucket) {}

  /** Stores an envelope; a Deal keeps the copy with the most signatures. */
  async put (id: string, envelope: Envelope, alias?: string): Promise<void> {
    // only a Deal gathers signatures; any other message is the same text whoever stores it
    const existing = envelope.type === 'Deal' ? await this.get(id) : undefined
    const keep = existing !== undefined && existing.signatures.length > envelope.signatures.length ? existing : envelope
    const text = JSON.stringify(keep)
    const ops = [{ type: 'put' as const, key: `id:${id}`, value: text }]
    if (alias !== undefined) ops.push({ type: 'put' as const, key: `out:${alias}`, value: text })
    await this.bucket.batch(ops)
    for (const key of [id, alias]) {
      if (key === undefined) continue
      for (const wake of this.waiting.get(key) ?? []) wake()
      this.waiting.delete(key)
    }
  }

  async get (idOrOutputId: string): Promise<Envelope | undefined> {
    const [byId, byOutput] = await this.bucket.getMany([`id:${idOrOutputId}`, `out:${idOrOutputId}`])
    const text = byId ?? byOutput
    return text === undefined ? undefined : JSON.parse(text) as Envelope
  }

  /**
   * The message, waiting up to `waitMs` for it: an output may name as evidence a message that a
   * sibling output of the same transition is still signing.
   */
  async require (idOrOutputId: string, waitMs = 5_000): Promise<Envelope> {
    // listen before looking, so that a put landing in between is not missed
    let wake!: () => void
    const stored = new Promise<void>((resolve) => { wake = resolve })
    this.waiting.set(idOrOutputId, [...(this.waiting.get(idOrOutputId) ?? []), wake])
    let envelope = await this.get(idOrOutputId)
    if (envelope === undefined) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([stored, new Promise<void>(resolve => { timer = setTimeout(resolve, waitMs) })])
      clearTimeout(timer)
      envelope = await this.get(idOrOutputId)
    }
    const rest = (this.waiting.get(idOrOutputId) ?? []).filter(w => w !== wake)
    if (rest.length > 0) this.waiting.set(idOrOutputId, rest)
    else this.waiting.delete(idOrOutputId)
    if (envelope === undefined) throw new Error(`no signed message ${idOrOutputId} is known to this node`)
    return envelope
  }
}
