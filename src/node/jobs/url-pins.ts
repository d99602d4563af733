import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { LoadedModule } from '../../executor/modules/load.ts'
import type { ResultsStore } from '../../executor/results/store.ts'
import { downloadUrl, fileNameOf, MAX_URL_INPUT_BYTES, UrlDownloadError } from '../adapters/url-download.ts'
import { JobError } from './job-errors.ts'

export { MAX_URL_INPUT_BYTES }

/**
 * Pins the module's URL inputs when the job is offered, as its image tag and its git ref are
 * pinned: each URL is downloaded once, here, into a folder holding the file under the URL's last
 * path segment (where Bacalhau puts a URL download), kept in the node's blockstore, and named by
 * that folder's CID. Every party mounts those bytes, whatever the URL serves later; providers fetch
 * them from this node by CID, or download the URL themselves when no peer has them (job-inputs.ts). Returns the pins as canonical JSON ('' when there are none).
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
      await downloadUrl(url, join(folder, fileNameOf(url)), maxBytes).catch((err: Error) => {
        if (!(err instanceof UrlDownloadError)) throw err
        throw new JobError('BAD_INPUT', err.kind === 'url' ? `the input URL ${err.message}` : `the input ${url} could not be downloaded to pin it: ${err.message}`)
      })
      pins[url] = (await store.add(folder)).toString()
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  }
  return JSON.stringify(pins)
}
