/**
 * Gossipsub peer scoring, chosen for a market whose topics are sparse (offers come minutes apart):
 *
 * - Positive credit is small and capped (`topicScoreCap` 10): time in the mesh (P1, ≈ +10 after an
 *   hour) and first deliveries (P2, at most +10). No honest peer can bank enough credit to hide abuse.
 * - Under-delivery (P3, P3b) is not penalised: a quiet topic says nothing about a peer.
 * - Invalid messages (P4) cost `-10 × n²` per topic, n decaying by 1% a second (it halves in ≈ 69 s).
 *   One REJECTed message costs -10, two -40, three -90, four -160, five -250. With the thresholds
 *   below, a peer that sends 3 invalid messages on a topic no longer receives our gossip (< -50),
 *   4 are not published to (< -100), and 5 are graylisted (< -200): every RPC from them is dropped
 *   unread until the count decays. A buggy but honest peer that slips once recovers within minutes.
 * - A copy of a message already seen is a duplicate, dropped before any check (the fast message id
 *   of topics.ts), so a copy with a broken libp2p signature of known content costs its sender
 *   nothing: it also costs us nothing, since it is never verified.
 * - Direct protocols report abuse (oversized frames, invalid messages) into the app-specific score
 *   (P5), weight 1, so the same graylist applies to a peer that misbehaves off gossip.
 * - Many peers behind one IP (P6) cost -5 per peer beyond 10 squared; loopback is exempt because
 *   local networks (`lilypad devnet`, tests) run every node on 127.0.0.1.
 */
import type { PeerScoreParams, PeerScoreThresholds, TopicScoreParams } from '@libp2p/gossipsub/score'

export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -50,
  publishThreshold: -100,
  graylistThreshold: -200,
  acceptPXThreshold: 10,
  opportunisticGraftThreshold: 5
}

export const TOPIC_SCORE: TopicScoreParams = {
  topicWeight: 1,
  timeInMeshWeight: 10 / 3600,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 3600,
  firstMessageDeliveriesWeight: 1,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 100,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.99
}

export const LOOPBACK_ADDRESSES = ['127.0.0.1', '::1']

export function peerScoreParams (topics: string[], appSpecificScore: (peer: string) => number, whitelist: string[] = LOOPBACK_ADDRESSES): Partial<PeerScoreParams> {
  return {
    topics: Object.fromEntries(topics.map(t => [t, { ...TOPIC_SCORE }])),
    topicScoreCap: 10,
    appSpecificScore,
    appSpecificWeight: 1,
    IPColocationFactorWeight: -5,
    IPColocationFactorThreshold: 10,
    IPColocationFactorWhitelist: new Set(whitelist),
    behaviourPenaltyWeight: -10,
    behaviourPenaltyThreshold: 0,
    behaviourPenaltyDecay: 0.9,
    decayInterval: 1000,
    decayToZero: 0.01,
    retainScore: 3600 * 1000
  }
}

/** Points the app-specific score takes off for abuse seen on direct protocols, decaying like P4. */
export class DirectPenalties {
  private readonly points = new Map<string, { value: number, at: number }>()

  constructor (private readonly now: () => number, private readonly halfLifeMs = 69_000) {}

  add (peer: string, value: number): void {
    this.points.set(peer, { value: this.current(peer) + value, at: this.now() })
  }

  current (peer: string): number {
    const p = this.points.get(peer)
    if (p === undefined) return 0
    const value = p.value * Math.pow(0.5, (this.now() - p.at) / this.halfLifeMs)
    if (value < 0.01) this.points.delete(peer)
    return value
  }

  /** For gossipsub's appSpecificScore: minus the penalty points. */
  score = (peer: string): number => -this.current(peer)
}
