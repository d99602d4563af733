import { open, type FileHandle } from 'node:fs/promises'
import { Writable } from 'node:stream'

/**
 * A stream into a file that keeps the first `limit` bytes and drops the rest, so a job cannot
 * fill the disk through its stdout or stderr. `truncated` tells whether anything was dropped.
 */
export class CappedFileWriter extends Writable {
  written = 0
  truncated = false
  private handle: FileHandle | undefined

  constructor (private readonly path: string, private readonly limit: number) {
    super()
  }

  override _construct (callback: (err?: Error | null) => void): void {
    open(this.path, 'w').then(h => { this.handle = h; callback() }, callback)
  }

  override _write (chunk: Buffer, _enc: BufferEncoding, callback: (err?: Error | null) => void): void {
    const room = this.limit - this.written
    if (chunk.length > room) this.truncated = true
    if (room <= 0) { callback(); return }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk
    this.written += part.length
    this.handle!.write(part).then(() => callback(), callback)
  }

  override _final (callback: (err?: Error | null) => void): void {
    this.handle!.close().then(() => { this.handle = undefined; callback() }, callback)
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    const h = this.handle
    this.handle = undefined
    if (h === undefined) { callback(err); return }
    h.close().then(() => callback(err), () => callback(err))
  }
}
