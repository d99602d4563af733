import type { MessageType } from './eip712-types.ts'

/**
 * How long after its expiry (the agree deadline) a fully signed Deal may still be delivered: the
 * provider co-signs until that deadline by its own clock, and its co-signature travels after it.
 * The job creator holds a deal it signed open a little longer than this, so a co-signature
 * delivered in time always counts.
 */
export const DEAL_DELIVERY_GRACE_MS = 5_000

/** Until when a message may be delivered to a party: its expiry, and for a Deal the grace after it. */
export function deliverableUntil (type: MessageType | string, expiry: number): number {
  return type === 'Deal' ? expiry + DEAL_DELIVERY_GRACE_MS : expiry
}
