import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http'
import type { JobSummary, JobView } from '../node/server/job-board.ts'

/** A request the node refused, or a node that does not answer: `status` 0 when nothing answered. */
export class NodeApiError extends Error {
  override readonly name = 'NodeApiError'
  constructor (readonly status: number, message: string, readonly code?: string) {
    super(message)
  }
}

export interface ApiRequest {
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** how long the whole answer may take (default 30 s); a stream that follows a job passes none: null */
  timeoutMs?: number | null
}

type Send = (url: URL, options: RequestOptions, answered: (response: IncomingMessage) => void) => ReturnType<typeof httpRequest>

// A command makes a few requests and exits: no idle connection is kept to hold it open.
const plain = new HttpAgent({ keepAlive: false })
let tls: Promise<Send> | undefined

/** node:https loads only for an API reached by https: it costs a short command tens of milliseconds. */
async function sender (protocol: string): Promise<Send> {
  if (protocol !== 'https:') return (url, options, answered) => httpRequest(url, { ...options, agent: plain }, answered)
  tls ??= import('node:https').then(({ Agent, request }) => {
    const agent = new Agent({ keepAlive: false })
    return (url, options, answered) => request(url, { ...options, agent }, answered)
  })
  return await tls
}
const DEFAULT_TIMEOUT_MS = 30_000

/**
 * A node's HTTP API, as a client reaches it: its base URL and, for a node that listens beyond
 * 127.0.0.1, its bearer token (`LILYPAD_API_TOKEN`, or the file `api-token` in its data directory).
 * It speaks through node:http, not fetch, whose first use costs a short command tens of milliseconds.
 */
export class NodeApi {
  readonly base: string

  constructor (base: string, readonly token?: string) {
    let url: URL
    try {
      url = new URL(base)
    } catch {
      throw new NodeApiError(0, `${base} is not a URL`)
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new NodeApiError(0, `${base} is not a URL of an HTTP API`)
    this.base = url.toString().replace(/\/+$/, '')
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
    const response = await this.request(`/ipfs/${cid}/${path.split('/').map(encodeURIComponent).join('/')}`)
    if (response.statusCode === 404) { response.resume(); return null }
    if (!ok(response)) throw await refusal(response)
    return await text(response)
  }

  /** Sends one request; the answer's body is left to read. Nothing answering is a NodeApiError with status 0. */
  protected async request (path: string, init: ApiRequest = {}): Promise<IncomingMessage> {
    const timeoutMs = init.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : init.timeoutMs
    const target = new URL(this.base + path)
    const send = await sender(target.protocol)
    return await new Promise((resolve, reject) => {
      const req = send(target, {
        method: init.method ?? 'GET',
        headers: this.headers({ ...(init.headers ?? {}), ...(init.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(init.body)) }) }),
        ...(timeoutMs === null ? {} : { signal: AbortSignal.timeout(timeoutMs) })
      }, resolve)
      req.once('error', (err) => { reject(new NodeApiError(0, `no node answers at ${this.base}: ${err.message}`)) })
      req.end(init.body)
    })
  }

  protected async json<T = Record<string, unknown>> (path: string, init?: ApiRequest): Promise<T> {
    const response = await this.request(path, init)
    if (!ok(response)) throw await refusal(response)
    return JSON.parse(await text(response)) as T
  }
}

export function ok (response: IncomingMessage): boolean {
  const status = response.statusCode ?? 0
  return status >= 200 && status < 300
}

export async function text (response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

async function refusal (response: IncomingMessage): Promise<NodeApiError> {
  const body = await text(response).then(t => JSON.parse(t) as { error?: string, code?: string }).catch(() => ({} as { error?: string, code?: string }))
  return new NodeApiError(response.statusCode ?? 0, body.error ?? `the node answered ${response.statusCode}`, body.code)
}
