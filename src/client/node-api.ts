import type { JobSummary, JobView } from '../node/server/job-board.ts'

/** A request the node refused, or a node that does not answer: `status` 0 when nothing answered. */
export class NodeApiError extends Error {
  override readonly name = 'NodeApiError'
  constructor (readonly status: number, message: string, readonly code?: string) {
    super(message)
  }
}

/**
 * A node's HTTP API, as a client reaches it: its base URL and, for a node that listens beyond
 * 127.0.0.1, its bearer token (`LILYPAD_API_TOKEN`, or the file `api-token` in its data directory).
 */
export class NodeApi {
  readonly base: string

  constructor (base: string, readonly token?: string) {
    try {
      this.base = new URL(base).toString().replace(/\/+$/, '')
    } catch {
      throw new NodeApiError(0, `${base} is not a URL`)
    }
  }

  /** The headers every request carries: the token, when there is one. */
  headers (extra: Record<string, string> = {}): Record<string, string> {
    return this.token === undefined || this.token === '' ? extra : { ...extra, authorization: `Bearer ${this.token}` }
  }

  async status (): Promise<Record<string, unknown>> {
    return await this.json('/status')
  }

  async jobs (): Promise<JobSummary[]> {
    return (await this.json<{ jobs: JobSummary[] }>('/jobs')).jobs
  }

  async job (id: string): Promise<JobView> {
    return await this.json(`/jobs/${encodeURIComponent(id)}`)
  }

  async cancel (id: string): Promise<JobView> {
    return await this.json(`/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' })
  }

  /** A file of a results folder the node holds (`stdout`, `stderr`, `outputs/...`), or null when it has none by that name. */
  async resultsFile (cid: string, path: string): Promise<string | null> {
    const response = await this.fetch(`/ipfs/${cid}/${path.split('/').map(encodeURIComponent).join('/')}`)
    if (response.status === 404) return null
    if (!response.ok) throw await refusal(response)
    return await response.text()
  }

  async fetch (path: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(this.base + path, { ...init, headers: this.headers(init.headers as Record<string, string> | undefined), signal: init.signal ?? AbortSignal.timeout(30_000) })
    } catch (err) {
      throw new NodeApiError(0, `no node answers at ${this.base}: ${(err as Error).message}`)
    }
  }

  private async json<T = Record<string, unknown>> (path: string, init?: RequestInit): Promise<T> {
    const response = await this.fetch(path, init)
    if (!response.ok) throw await refusal(response)
    return await response.json() as T
  }
}

async function refusal (response: Response): Promise<NodeApiError> {
  const body = await response.json().catch(() => ({})) as { error?: string, code?: string }
  return new NodeApiError(response.status, body.error ?? `the node answered ${response.status}`, body.code)
}
