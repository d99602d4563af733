import type Docker from 'dockerode'
import { ExecutionError } from '../results/execution.ts'

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/
const DIGEST_REF = /^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$/

/** True when `ref` names exactly one image: `sha256:<id>` or `name@sha256:<digest>`. */
export function isPinnedImage (ref: string): boolean {
  return IMAGE_ID.test(ref) || DIGEST_REF.test(ref)
}

export interface ResolveImageOptions {
  allowUnpinned?: boolean
  pullTimeoutMs?: number
  signal?: AbortSignal
  /** called as a pull goes on, at most once a second, and when it ends */
  onPullProgress?: (progress: PullProgress) => void
  /** a pull whose layers add up to more than this is stopped (IMAGE_TOO_LARGE) */
  maxImageBytes?: number
}

/** How far a pull has got, over the layers the registry has announced so far. */
export interface PullProgress {
  image: string
  layers: number
  layersDone: number
  bytes: number
  totalBytes: number
  done: boolean
}

interface PullEvent { id?: string, status?: string, progressDetail?: { current?: number, total?: number } }

const PROGRESS_EVERY_MS = 1_000

/**
 * Returns the local image id for `ref`, pulling it when it is missing and names a registry
 * (a `name@sha256:` reference). A bare image id can only come from the local engine.
 */
export async function resolveImage (docker: Docker, ref: string, options: ResolveImageOptions = {}): Promise<string> {
  if (!options.allowUnpinned && !isPinnedImage(ref)) {
    throw new ExecutionError('IMAGE_NOT_PINNED',
      `image ${JSON.stringify(ref)} is not pinned: use sha256:<image id> or name@sha256:<digest>, so every party runs the same bytes`)
  }
  const local = await inspectImage(docker, ref)
  if (local !== undefined) return local
  if (IMAGE_ID.test(ref)) {
    throw new ExecutionError('IMAGE_NOT_FOUND', `image ${ref} is not present in the local Docker engine and an image id cannot be pulled`)
  }
  await pull(docker, ref, options)
  const pulled = await inspectImage(docker, ref)
  if (pulled === undefined) throw new ExecutionError('IMAGE_NOT_FOUND', `image ${ref} is still missing after a pull`)
  return pulled
}

async function inspectImage (docker: Docker, ref: string): Promise<string | undefined> {
  try {
    return (await docker.getImage(ref).inspect()).Id
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return undefined
    throw new ExecutionError('DOCKER_UNAVAILABLE', `cannot inspect image ${ref}: ${(err as Error).message}`, { cause: err })
  }
}

async function pull (docker: Docker, ref: string, options: ResolveImageOptions): Promise<void> {
  const tooLarge = new AbortController()
  const signals = [AbortSignal.timeout(options.pullTimeoutMs ?? 300_000), tooLarge.signal]
  if (options.signal) signals.push(options.signal)
  const abortSignal = AbortSignal.any(signals)
  const max = options.maxImageBytes ?? Infinity
  // the registry announces each layer's size as its download starts: a pull is stopped as soon as they add up to too much
  const onProgress = (p: PullProgress): void => {
    if (p.totalBytes > max && !tooLarge.signal.aborted) {
      tooLarge.abort(new ExecutionError('IMAGE_TOO_LARGE', `image ${ref} has more than ${max} bytes of layers (${p.totalBytes} announced so far), more than this node pulls`))
    }
  }
  try {
    const stream = await docker.pull(ref, { abortSignal })
    const progress = pullProgress(ref, options.onPullProgress, onProgress)
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(stream, (err: Error | null) => err ? reject(err) : resolve(), progress.event)
      abortSignal.addEventListener('abort', () => reject(abortSignal.reason as Error), { once: true })
    })
    progress.end()
  } catch (err) {
    if (options.signal?.aborted) throw new ExecutionError('EXECUTION_CANCELLED', `pulling ${ref} was cancelled`, { cause: err })
    if (tooLarge.signal.aborted) throw tooLarge.signal.reason as ExecutionError
    throw new ExecutionError('IMAGE_PULL_FAILED', `image ${ref} is not present locally and could not be pulled: ${firstLine(err)}`, { cause: err })
  }
}

/** Sums Docker's per-layer pull events into one figure, reported at most once a second. */
function pullProgress (image: string, report?: (progress: PullProgress) => void, watch?: (progress: PullProgress) => void): { event: (e: PullEvent) => void, end: () => void } {
  const layers = new Map<string, { current: number, total: number, done: boolean }>()
  let last = 0
  const summary = (done: boolean): PullProgress => {
    let bytes = 0
    let totalBytes = 0
    let layersDone = 0
    for (const l of layers.values()) { bytes += l.current; totalBytes += l.total; if (l.done) layersDone++ }
    return { image, layers: layers.size, layersDone, bytes, totalBytes, done }
  }
  return {
    event: (e) => {
      if (e.id === undefined || /^(Pulling from|Digest|Status)/.test(e.status ?? '')) return
      const layer = layers.get(e.id) ?? { current: 0, total: 0, done: false }
      if (e.status === 'Downloading' && e.progressDetail?.total !== undefined) {
        layer.current = e.progressDetail.current ?? layer.current
        layer.total = e.progressDetail.total
      }
      if (e.status === 'Pull complete' || e.status === 'Already exists') { layer.done = true; layer.current = layer.total }
      layers.set(e.id, layer)
      watch?.(summary(false))
      const now = Date.now()
      if (report !== undefined && now - last >= PROGRESS_EVERY_MS) { last = now; report(summary(false)) }
    },
    end: () => report?.(summary(true))
  }
}

function firstLine (err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0] ?? ''
}
