/**
 * Gossip topic names and their encoding, in one place.
 *
 * Topics are `/lilypad/<network>/<name>/1`; each carries exactly one message type, encoded by
 * the message layer's codec (canonical UTF-8 JSON of the envelope). A gossip message id is the
 * SHA-256 of those bytes: the same content always has the same id, whoever relays it.
 */
import { createHash } from 'node:crypto'
import type { MessageType } from '../messages/index.ts'
import { MeshError } from './errors.ts'

export const TOPIC_NAMES = ['resource-offers', 'job-offers', 'deals', 'mediators', 'verdicts'] as const
export type TopicName = typeof TOPIC_NAMES[number]

/** The message type each topic carries. */
export const TOPIC_MESSAGE_TYPE: Record<TopicName, MessageType> = {
  'resource-offers': 'ResourceOffer',
  'job-offers': 'JobOffer',
  deals: 'Deal',
  mediators: 'MediatorAnnouncement',
  verdicts: 'MediationVerdict'
}

/** Offers: messages that describe live supply or demand, synced to late joiners and re-announced. */
export const OFFER_TOPICS: readonly TopicName[] = ['resource-offers', 'job-offers', 'mediators']

/**
 * The role machines name topics by constants (`JOB_OFFERS_TOPIC` = 'lilypad/job-offers', ...).
 * This maps those constants to gossip topic names; a unit test checks it covers every machine topic.
 */
export const MACHINE_TOPICS: Readonly<Record<string, TopicName>> = {
  'lilypad/resource-offers': 'resource-offers',
  'lilypad/job-offers': 'job-offers',
  'lilypad/deals': 'deals',
  'lilypad/mediators': 'mediators',
  'lilypad/verdicts': 'verdicts'
}

const NETWORK = /^[a-z0-9][a-z0-9-]{0,62}$/

export function gossipTopic (network: string, name: TopicName): string {
  if (!NETWORK.test(network)) throw new MeshError('BAD_OPTIONS', `network name ${JSON.stringify(network)} must match ${NETWORK}`)
  return `/lilypad/${network}/${name}/1`
}

/** The gossip topic for a machine's topic constant (e.g. from a `message.publish` output). */
export function topicForMachineTopic (network: string, machineTopic: string): string {
  const name = MACHINE_TOPICS[machineTopic]
  if (name === undefined) throw new MeshError('UNKNOWN_TOPIC', `no gossip topic for machine topic ${machineTopic}`)
  return gossipTopic(network, name)
}

/** Reverse of `gossipTopic` for this network; undefined for any other string. */
export function topicNameOf (network: string, topic: string): TopicName | undefined {
  const prefix = `/lilypad/${network}/`
  if (!topic.startsWith(prefix) || !topic.endsWith('/1')) return undefined
  const name = topic.slice(prefix.length, -2)
  return (TOPIC_NAMES as readonly string[]).includes(name) ? name as TopicName : undefined
}

/**
 * Gossip message id: SHA-256 of the message bytes. The mesh node gives gossipsub the same id as
 * its fast id too, so a copy of a message already seen is dropped before its libp2p signature is
 * checked. The libp2p signature itself (StrictSign) is kept: the EIP-712 signature proves who wrote
 * a message, but only gossipsub's signed `from` proves who published it, and the validators reject
 * a message whose author is not its publisher (WRONG_AUTHOR).
 */
export function gossipMessageId (data: Uint8Array): Uint8Array {
  return createHash('sha256').update(data).digest()
}
