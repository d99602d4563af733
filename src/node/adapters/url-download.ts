import { createWriteStream } from 'node:fs'
import { posix } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream } from 'node:stream/web'

/** The most a URL input may hold. */
export const MAX_URL_INPUT_BYTES = 1024 * 1024 * 1024
/** How long one download may take. */
const DOWNLOAD_MS = 10 * 60_000

/** A URL input that could not be downloaded: not a http(s) URL, refused, cut off, or too large. */
export class UrlDownloadError extends Error {
  override readonly name = 'UrlDownloadError'
  /** `url`: the URL itself is refused (not one, or not http or https); `download`: fetching it failed */
  constructor (readonly kind: 'url' | 'download', message: string) {
    super(message)
  }
}

/** The name a URL's download is kept under in its folder: the URL's last path segment (where Bacalhau puts it), or `download`. */
export function fileNameOf (url: string): string {
  const last = posix.basename(new URL(url).pathname)
  return /^[A-Za-z0-9._-]{1,200}$/.test(last) && last !== '.' && last !== '..' ? last : 'download'
}

/** Downloads `url` (http or https, redirects followed) into `dest`, refusing more than `maxBytes`. */
export async function downloadUrl (url: string, dest: string, maxBytes = MAX_URL_INPUT_BYTES, signal?: AbortSignal): Promise<void> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UrlDownloadError('url', `${JSON.stringify(url)} is not a URL`)
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new UrlDownloadError('url', `${url} is not http or https`)
  const timeout = AbortSignal.timeout(DOWNLOAD_MS)
  const response = await fetch(parsed, { redirect: 'follow', signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]) })
    .catch((err: Error) => { throw new UrlDownloadError('download', err.message) })
  if (!response.ok || response.body === null) throw new UrlDownloadError('download', `the server answered ${response.status}`)
  const declared = Number(response.headers.get('content-length') ?? NaN)
  if (declared > maxBytes) throw new UrlDownloadError('download', `it holds ${declared} bytes, more than the ${maxBytes} an input may`)
  let seen = 0
  const capped = new Transform({
    transform (chunk: Buffer, _encoding, done) {
      seen += chunk.length
      done(seen > maxBytes ? new UrlDownloadError('download', `it holds more than the ${maxBytes} bytes an input may`) : null, chunk)
    }
  })
  await pipeline(Readable.fromWeb(response.body as ReadableStream<Uint8Array>), capped, createWriteStream(dest)).catch((err: Error) => {
    throw err instanceof UrlDownloadError ? err : new UrlDownloadError('download', err.message)
  })
}
