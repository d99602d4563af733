import type { Envelope } from '../../protocols/messages/envelope.ts'
import type { SideWrite, StringBucket } from '../eventlog/event-log.ts'

/**
 * Every signed message a node has sent or received, by message id, and its own by the output id
 * that sent it: machines name attachments and settlement evidence by those ids. Kept in LevelDB
 * beside the log so that re-sent outputs and evidence survive a restart.
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
    return writes
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
