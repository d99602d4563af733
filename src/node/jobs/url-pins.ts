import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join, posix } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream } from 'node:stream/web'
import type { LoadedModule } from '../../executor/modules/load.ts'
import type { ResultsStore } from '../../executor/results/store.ts'
import { JobError } from './job-errors.ts'

/** The most a URL input may hold. */
export const MAX_URL_INPUT_BYTES = 1024 * 1024 * 1024
/** How long one download may take. */
const DOWNLOAD_MS = 10 * 60_000

/**
 * Pins the module's URL inputs when the job is offered, as its image tag and its git ref are
 * pinned: each URL is downloaded once, here, into a folder holding the file under the URL's last
 * path segment (where Bacalhau puts a URL download), kept in the node's blockstore, and named by
 * that folder's CID. Every party mounts those bytes, whatever the URL serves later; providers fetch
 * them from this node by CID. Returns the pins as canonical JSON ('' when there are none).
 */
export async function pinUrlInputs (module: LoadedModule, store: ResultsStore, maxBytes = MAX_URL_INPUT_BYTES): Promise<string> {
  const urls = [...new Set(module.spec.job.inputs.filter(s => s.cid === '' && s.url !== '').map(s => s.url))].sort()
  if (urls.length === 0) return ''
  const scratch = join(store.dataDir, 'url-inputs')
  await mkdir(scratch, { recursive: true })
  const pins: Record<string, string> = {}
  for (const url of urls) {
    const folder = await mkdtemp(join(scratch, 'download-'))
    try {
      await download(url, join(folder, fileNameOf(url)), maxBytes)
      pins[url] = (await store.add(folder)).toString()
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  }
  return JSON.stringify(pins)
}

function fileNameOf (url: string): string {
  const last = posix.basename(new URL(url).pathname)
  return /^[A-Za-z0-9._-]{1,200}$/.test(last) && last !== '.' && last !== '..' ? last : 'download'
}

async function download (url: string, dest: string, maxBytes: number): Promise<void> {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new JobError('BAD_INPUT', `the input URL ${JSON.stringify(url)} is not a URL`)
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new JobError('BAD_INPUT', `the input URL ${url} is not http or https`)
  const failed = (why: string): JobError => new JobError('BAD_INPUT', `the input ${url} could not be downloaded to pin it: ${why}`)
  const response = await fetch(parsed, { redirect: 'follow', signal: AbortSignal.timeout(DOWNLOAD_MS) }).catch((err: Error) => { throw failed(err.message) })
  if (!response.ok || response.body === null) throw failed(`the server answered ${response.status}`)
  const declared = Number(response.headers.get('content-length') ?? NaN)
  if (declared > maxBytes) throw failed(`it holds ${declared} bytes, more than the ${maxBytes} an input may`)
  let seen = 0
  const capped = new Transform({
    transform (chunk: Buffer, _encoding, done) {
      seen += chunk.length
      done(seen > maxBytes ? failed(`it holds more than the ${maxBytes} bytes an input may`) : null, chunk)
    }
  })
  await pipeline(Readable.fromWeb(response.body as ReadableStream<Uint8Array>), capped, createWriteStream(dest)).catch((err: Error) => {
    throw err instanceof JobError ? err : failed(err.message)
  })
}
