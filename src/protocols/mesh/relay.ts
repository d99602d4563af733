/**
 * Nodes behind a NAT: a relay (any node run with a relay server) lets peers reach them through it
 * (libp2p circuit relay v2), and DCUtR replaces a relayed connection with a direct one when it can.
 *
 * With TCP behind a NAT that masquerades, as Linux's does, DCUtR cannot: js-libp2p dials TCP
 * from an ephemeral port, never from the port it listens on, so the NAT's mapping of a dial is no
 * address a peer could dial back, and identify drops observed TCP addresses for that reason. A
 * node behind such a NAT knows no public address of its own to offer in DCUtR's exchange, and
 * the hole punch ends before any dial. DCUtR upgrades only where one side has a public address:
 * the side behind the NAT dials it. So the relay carries what two NATed parties say to each other,
 * and its limits on a relayed connection are sized for a whole deal: its direct messages, the log
 * head exchanges, and a small results transfer. A connection the limits end is opened again, with
 * limits of its own, by the next message.
 */
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'

export interface RelayServerLimits {
  /** peers holding a slot at once: each holds a connection, within the node's connection limit */
  maxReservations: number
  /** bytes one relayed connection carries, both ways together, before the relay ends it */
  maxBytes: number
  /** seconds one relayed connection lasts before the relay ends it */
  maxSeconds: number
}

/**
 * A cowsay deal between two parties behind NATs, their direct messages, log heads, results and the
 * connection's own traffic (identify, DCUtR's tries, pings) together, passed one relayed connection
 * at a 32 KiB limit and needed two at 12 KiB: 4 MiB leaves room for results of a few MB. Ten
 * minutes covers a deal's exchanges close together; messages hours apart open new connections.
 */
export const DEFAULT_RELAY_SERVER_LIMITS: RelayServerLimits = { maxReservations: 32, maxBytes: 4 * 1024 * 1024, maxSeconds: 600 }

export function relayServer (limits: RelayServerLimits): ReturnType<typeof circuitRelayServer> {
  return circuitRelayServer({
    reservations: {
      maxReservations: limits.maxReservations,
      defaultDataLimit: BigInt(limits.maxBytes),
      // the server counts a connection's duration in ms
      defaultDurationLimit: limits.maxSeconds * 1000
    }
  })
}

/**
 * The listen address that asks for a slot on a relay among the peers: the relays named are
 * dialled as bootstrap peers, and the first relay connected holds the slot. A slot lost (the relay
 * went away) is taken again on a relay the node knows once one answers, which a named address
 * (`<relay>/p2p-circuit`) would not do, nor let the node start while its relay is down.
 */
export const RELAY_SLOT_LISTEN_ADDRESS = '/p2p-circuit'
