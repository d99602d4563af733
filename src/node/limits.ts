/**
 * The bounds on what other peers can make a node hold: anyone on the mesh can sign offers and send
 * messages, so every place their input lands is bounded, each bound under a name, with a default,
 * settable in the config file's `limits` object (or LILYPAD_LIMITS, the same object as JSON).
 */
import { DEFAULT_MESH_STATE_LIMITS } from '../protocols/mesh/mesh-state.ts'
import { DEFAULT_OFFER_ADMISSION } from '../protocols/mesh/peer-admission.ts'
import { DEFAULT_RELAY_SERVER_LIMITS } from '../protocols/mesh/relay.ts'
import { DEFAULT_BOOK_LIMITS } from '../state-machines/book-limits.ts'

export interface NodeLimits {
  /** live offers of others the mesh layer holds (to serve late joiners), all authors together */
  meshMaxOffers: number
  /** their gossiped bytes */
  meshMaxOfferBytes: number
  /** live offers of one author */
  meshMaxOffersPerAuthor: number
  /** new offers one peer may pass on per second, on average */
  offerAdmissionPerSecond: number
  /** and at once */
  offerAdmissionBurst: number
  /** a solver's book: resource offers, all authors together */
  bookMaxOffers: number
  /** a solver's book: waiting jobs, all authors together */
  bookMaxJobs: number
  /** a solver's book: offers (or jobs) of one author */
  bookMaxPerAuthor: number
  /** DHT records (provider and value records other peers store here) */
  dhtMaxRecords: number
  /** hours a received message is kept after the last deadline of any deal it can be part of */
  messageRetentionHours: number
  /** a relay (`relayServer`): peers holding a slot at once */
  relayMaxReservations: number
  /** a relay: bytes one relayed connection carries, both ways together, before the relay ends it */
  relayMaxBytes: number
  /** a relay: seconds one relayed connection lasts before the relay ends it */
  relayMaxSeconds: number
}

export const DEFAULT_NODE_LIMITS: NodeLimits = {
  meshMaxOffers: DEFAULT_MESH_STATE_LIMITS.maxOffers,
  meshMaxOfferBytes: DEFAULT_MESH_STATE_LIMITS.maxOfferBytes,
  meshMaxOffersPerAuthor: DEFAULT_MESH_STATE_LIMITS.maxOffersPerAuthor,
  offerAdmissionPerSecond: DEFAULT_OFFER_ADMISSION.perSecond,
  offerAdmissionBurst: DEFAULT_OFFER_ADMISSION.burst,
  bookMaxOffers: DEFAULT_BOOK_LIMITS.maxOffers,
  bookMaxJobs: DEFAULT_BOOK_LIMITS.maxJobs,
  bookMaxPerAuthor: DEFAULT_BOOK_LIMITS.maxPerAuthor,
  dhtMaxRecords: 10_000,
  messageRetentionHours: 24,
  relayMaxReservations: DEFAULT_RELAY_SERVER_LIMITS.maxReservations,
  relayMaxBytes: DEFAULT_RELAY_SERVER_LIMITS.maxBytes,
  relayMaxSeconds: DEFAULT_RELAY_SERVER_LIMITS.maxSeconds
}

/** The limits a config names, over the defaults; a name no limit has, or a value that is not a positive number, is an error. */
export function resolveLimits (raw: unknown, fail: (message: string) => never): NodeLimits {
  if (raw === undefined || raw === null) return { ...DEFAULT_NODE_LIMITS }
  let value = raw
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value)
    } catch {
      fail('limits must be a JSON object of named limits, e.g. {"bookMaxOffers": 5000}')
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('limits must be an object of named limits')
  const limits = { ...DEFAULT_NODE_LIMITS }
  const names = Object.keys(DEFAULT_NODE_LIMITS)
  for (const [name, given] of Object.entries(value as Record<string, unknown>)) {
    if (!names.includes(name)) fail(`unknown limit "${name}"; the limits: ${names.join(', ')}`)
    const n = typeof given === 'string' ? Number(given) : given
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) fail(`limit ${name} must be a positive number, not ${JSON.stringify(given)}`)
    limits[name as keyof NodeLimits] = n
  }
  return limits
}
