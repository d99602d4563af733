import type { Envelope } from '../../protocols/messages/envelope.ts'
import type { StringBucket } from '../eventlog/event-log.ts'

/**
 * Every signed message a node has sent or received, by message id, and its own by the output id
 * that sent it: machines name attachments and settlement evidence by those ids. Kept in LevelDB
 * beside the log so that re-sent outputs and evidence survive a restart.
 */
export class MessageStore {
  constructor (private readonly bucket: StringBucket) {}

  /** Stores an envelope; a Deal keeps the copy with the most signatures. */
  async put (id: string, envelope: Envelope, alias?: string): Promise<void> {
    const existing = await this.get(id)
    const keep = existing !== undefined && existing.signatures.length > envelope.signatures.length ? existing : envelope
    const text = JSON.stringify(keep)
    const ops = [{ type: 'put' as const, key: `id:${id}`, value: text }]
    if (alias !== undefined) ops.push({ type: 'put' as const, key: `out:${alias}`, value: text })
    await this.bucket.batch(ops)
  }

  async get (idOrOutputId: string): Promise<Envelope | undefined> {
    const [byId, byOutput] = await this.bucket.getMany([`id:${idOrOutputId}`, `out:${idOrOutputId}`])
    const text = byId ?? byOutput
    return text === undefined ? undefined : JSON.parse(text) as Envelope
  }

  async require (idOrOutputId: string): Promise<Envelope> {
    const envelope = await this.get(idOrOutputId)
    if (envelope === undefined) throw new Error(`no signed message ${idOrOutputId} is known to this node`)
    return envelope
  }
}
