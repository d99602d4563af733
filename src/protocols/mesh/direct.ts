/**
 * Direct request/response protocols (`/lilypad/deal/1.0.0`, ...): one length-prefixed request
 * frame, one length-prefixed response frame, then the stream closes. Frames have a maximum size
 * (checked from the length prefix, before the body is read), every exchange has a timeout carried
 * by an AbortSignal, and each peer may open only so many requests per second per protocol.
 *
 * A response frame starts with one status byte: 0 and the handler's payload, or 1 and UTF-8 JSON
 * `{ code, message }` describing why the request was refused.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream, RateLimiter } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { openProtocolStream } from '../../support/protocol-stream.ts'
import { isMeshError, MeshError, type MeshErrorCode } from './errors.ts'
import type { Libp2pNode } from './libp2p-node.ts'

export const DIRECT_PROTOCOLS = {
  /** match proposals and deal signatures */
  deal: '/lilypad/deal/1.0.0',
  /** results submitted / accepted / challenged, verdicts */
  results: '/lilypad/results/1.0.0',
  /** the live offers a peer holds, for a node that just joined */
  offers: '/lilypad/offers/1.0.0',
  /** a counterparty's signed log head, answered with this node's (log-witness.ts) */
  head: '/lilypad/head/1.0.0'
} as const

/**
 * What a deal's parties say to each other: it must pass where the only connection between them
 * is relayed, a limited connection (relay.ts). Offer sync stays off relayed connections, whose
 * bytes the relay counts: every node syncs from the peers it is connected to directly.
 */
const OVER_RELAYS: ReadonlySet<string> = new Set([DIRECT_PROTOCOLS.deal, DIRECT_PROTOCOLS.results, DIRECT_PROTOCOLS.head])

export interface DirectLimits {
  /** largest request or response frame, in bytes (default 128 KiB) */
  maxFrameBytes: number
  /** ms for a whole exchange, dial included (default 10 s) */
  timeoutMs: number
  /** requests a peer may open per protocol per second (default 20) */
  requestsPerSecond: number
}

export const DEFAULT_DIRECT_LIMITS: DirectLimits = { maxFrameBytes: 128 * 1024, timeoutMs: 10_000, requestsPerSecond: 20 }

export interface DirectRequest {
  protocol: string
  peer: PeerId
  frame: Uint8Array
  /** aborted when the exchange times out */
  signal: AbortSignal
}

export type DirectHandler = (request: DirectRequest) => Promise<Uint8Array> | Uint8Array

export interface SendOptions {
  signal?: AbortSignal
  timeoutMs?: number
}

const OK = 0
const ERROR = 1
const encoder = new TextEncoder()
const decoder = new TextDecoder()

function errorFrame (code: string, message: string): Uint8Array {
  const body = encoder.encode(JSON.stringify({ code, message: message.slice(0, 512) }))
  const frame = new Uint8Array(body.byteLength + 1)
  frame[0] = ERROR
  frame.set(body, 1)
  return frame
}

function okFrame (payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(payload.byteLength + 1)
  frame[0] = OK
  frame.set(payload, 1)
  return frame
}

function timeoutSignal (ms: number, outer?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(ms)
  return outer === undefined ? timeout : AbortSignal.any([outer, timeout])
}

/** Maps stream failures to MeshErrors with stable codes. */
function asMeshError (err: unknown, signal: AbortSignal, what: string): MeshError {
  if (isMeshError(err)) return err
  const name = (err as Error | undefined)?.name
  if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') return new MeshError('FRAME_TOO_LARGE', `${what}: ${(err as Error).message}`)
  if (signal.aborted || name === 'AbortError' || name === 'TimeoutError') return new MeshError('TIMEOUT', `${what} timed out`)
  return new MeshError('PROTOCOL_ERROR', `${what}: ${(err as Error | undefined)?.message ?? String(err)}`)
}

export class DirectProtocols {
  private readonly limiters = new Map<string, RateLimiter>()

  constructor (
    private readonly libp2p: Libp2pNode,
    private readonly limits: DirectLimits,
    /** told about a peer that abused a protocol (oversized frame, flooding, invalid message) */
    private readonly onAbuse: (peer: PeerId, code: MeshErrorCode) => void = () => {}
  ) {}

  /** Sends one request frame and returns the response payload; throws MeshError. */
  async send (peer: PeerId | Multiaddr, protocol: string, frame: Uint8Array, options: SendOptions = {}): Promise<Uint8Array> {
    if (frame.byteLength > this.limits.maxFrameBytes) {
      throw new MeshError('FRAME_TOO_LARGE', `request of ${frame.byteLength} bytes exceeds ${this.limits.maxFrameBytes}`)
    }
    const signal = timeoutSignal(options.timeoutMs ?? this.limits.timeoutMs, options.signal)
    let stream: Stream | undefined
    try {
      stream = OVER_RELAYS.has(protocol) ? await openProtocolStream(this.libp2p, peer, protocol, signal) : await this.libp2p.dialProtocol(peer, protocol, { signal })
      const lp = lpStream(stream, { maxDataLength: this.limits.maxFrameBytes })
      await lp.write(frame, { signal })
      const response = (await lp.read({ signal })).subarray()
      await stream.close({ signal }).catch(() => undefined)
      if (response[0] === OK) return response.subarray(1)
      if (response[0] === ERROR) {
        let remote: { code?: unknown, message?: unknown } = {}
        try { remote = JSON.parse(decoder.decode(response.subarray(1))) } catch { /* reported below */ }
        const code = typeof remote.code === 'string' ? remote.code : 'UNKNOWN'
        throw new MeshError(code === 'RATE_LIMITED' ? 'RATE_LIMITED' : 'REMOTE_ERROR', `${protocol}: ${code}: ${String(remote.message ?? '')}`, { remoteCode: code })
      }
      throw new MeshError('PROTOCOL_ERROR', `${protocol}: response without a status byte`)
    } catch (err) {
      stream?.abort(err instanceof Error ? err : new Error(String(err)))
      throw asMeshError(err, signal, `${protocol} request`)
    }
  }

  /** Serves a protocol; the handler's errors reach the requester as error frames. */
  async handle (protocol: string, handler: DirectHandler): Promise<void> {
    const limiter = new RateLimiter({ points: this.limits.requestsPerSecond, duration: 1 })
    this.limiters.set(protocol, limiter)
    await this.libp2p.handle(protocol, async (stream: Stream, connection: Connection) => {
      await this.serve(protocol, handler, limiter, stream, connection.remotePeer)
    }, { maxInboundStreams: 64, runOnLimitedConnection: OVER_RELAYS.has(protocol) })
  }

  async unhandle (protocol: string): Promise<void> {
    this.limiters.delete(protocol)
    await this.libp2p.unhandle(protocol)
  }

  private async serve (protocol: string, handler: DirectHandler, limiter: RateLimiter, stream: Stream, peer: PeerId): Promise<void> {
    const signal = AbortSignal.timeout(this.limits.timeoutMs)
    const lp = lpStream(stream, { maxDataLength: this.limits.maxFrameBytes })
    const refuse = async (code: MeshErrorCode | string, message: string): Promise<void> => {
      await lp.write(errorFrame(code, message), { signal }).catch(() => undefined)
      await stream.close({ signal }).catch(() => stream.abort(new Error(message)))
    }
    try {
      limiter.consume(peer.toString())
    } catch {
      this.onAbuse(peer, 'RATE_LIMITED')
      await refuse('RATE_LIMITED', `more than ${this.limits.requestsPerSecond} ${protocol} requests a second`)
      return
    }
    let frame: Uint8Array
    try {
      frame = (await lp.read({ signal })).subarray()
    } catch (err) {
      const mapped = asMeshError(err, signal, `${protocol} request from ${peer.toString()}`)
      if (mapped.code === 'FRAME_TOO_LARGE') {
        this.onAbuse(peer, 'FRAME_TOO_LARGE')
        await refuse('FRAME_TOO_LARGE', `requests are limited to ${this.limits.maxFrameBytes} bytes`)
      } else {
        stream.abort(mapped)
      }
      return
    }
    let response: Uint8Array
    try {
      response = await handler({ protocol, peer, frame, signal })
    } catch (err) {
      if (isMeshError(err, 'INVALID_MESSAGE')) this.onAbuse(peer, 'INVALID_MESSAGE')
      await refuse(isMeshError(err) ? err.code : 'HANDLER_FAILED', err instanceof Error ? err.message : String(err))
      return
    }
    if (response.byteLength + 1 > this.limits.maxFrameBytes) {
      await refuse('FRAME_TOO_LARGE', `response of ${response.byteLength} bytes exceeds ${this.limits.maxFrameBytes}`)
      return
    }
    try {
      await lp.write(okFrame(response), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(asMeshError(err, signal, `${protocol} response`))
    }
  }
}
