/**
 * Offer sync for late joiners, on `/lilypad/offers/1.0.0`: the requester sends `{ cursor }`, the
 * responder answers `{ offers: [{ topic, data }], next }` with as many of its live offers (sorted by
 * id, from the cursor) as fit in one frame, `data` being the offer's exact gossip bytes as UTF-8.
 * The requester validates each offer as if it had been gossiped, minus the publisher binding (the
 * responder relays other authors' offers; their signatures are what count).
 */
import type { PeerId } from '@libp2p/interface'
import { isMultiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { DIRECT_PROTOCOLS, type DirectProtocols, type SendOptions } from './direct.ts'
import { MeshError } from './errors.ts'
import type { LiveOffer } from './mesh-state.ts'
import { TOPIC_NAMES, type TopicName } from './topics.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const FRAME_OVERHEAD = 64

export async function serveOffers (direct: DirectProtocols, liveOffers: () => LiveOffer[], maxFrameBytes: number): Promise<void> {
  await direct.handle(DIRECT_PROTOCOLS.offers, ({ frame }) => {
    let cursor = 0
    try {
      const request = JSON.parse(decoder.decode(frame)) as { cursor?: unknown }
      if (typeof request.cursor === 'number' && Number.isSafeInteger(request.cursor) && request.cursor >= 0) cursor = request.cursor
    } catch {
      throw new MeshError('INVALID_MESSAGE', 'an offer sync request is JSON { cursor }')
    }
    const offers = liveOffers().sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    const page: Array<{ topic: TopicName, data: string }> = []
    let size = FRAME_OVERHEAD
    let next: number | null = null
    for (let i = cursor; i < offers.length; i++) {
      const offer = offers[i] as LiveOffer
      const entry = { topic: offer.topic, data: decoder.decode(offer.bytes) }
      const entrySize = encoder.encode(JSON.stringify(entry)).byteLength + 1
      if (size + entrySize > maxFrameBytes - 1) {
        next = i
        break
      }
      size += entrySize
      page.push(entry)
    }
    return encoder.encode(JSON.stringify({ offers: page, next }))
  })
}

function peerOf (target: PeerId | Multiaddr): string {
  if (!isMultiaddr(target)) return target.toString()
  return target.getComponents().findLast(c => c.name === 'p2p')?.value ?? target.toString()
}

/** Pulls every page of a peer's live offers; `onOffer` may throw to stop (an invalid offer). */
export async function fetchOffers (
  direct: DirectProtocols, target: PeerId | Multiaddr, maxOffers: number, options: SendOptions,
  onOffer: (topic: TopicName, bytes: Uint8Array, from: string) => void | Promise<void>
): Promise<void> {
  const from = peerOf(target)
  let cursor: number | null = 0
  let taken = 0
  while (cursor !== null && taken < maxOffers) {
    const response = await direct.send(target, DIRECT_PROTOCOLS.offers, encoder.encode(JSON.stringify({ cursor })), options)
    let page: { offers?: unknown, next?: unknown } | null
    try {
      page = JSON.parse(decoder.decode(response))
    } catch {
      throw new MeshError('PROTOCOL_ERROR', `offer sync from ${from}: response is not JSON`)
    }
    if (page === null || typeof page !== 'object' || !Array.isArray(page.offers)) throw new MeshError('PROTOCOL_ERROR', `offer sync from ${from}: no offers array`)
    // an honest peer sends an empty page only as its last: one that points further on would keep us asking for ever
    if (page.offers.length === 0) break
    for (const entry of page.offers as Array<{ topic?: unknown, data?: unknown }>) {
      if (taken >= maxOffers) break
      if (!(TOPIC_NAMES as readonly unknown[]).includes(entry?.topic) || typeof entry.data !== 'string') {
        throw new MeshError('PROTOCOL_ERROR', `offer sync from ${from}: malformed entry`)
      }
      taken++
      await onOffer(entry.topic as TopicName, encoder.encode(entry.data), from)
    }
    const next = page.next
    cursor = typeof next === 'number' && Number.isSafeInteger(next) && next > (cursor ?? 0) ? next : null
  }
}
