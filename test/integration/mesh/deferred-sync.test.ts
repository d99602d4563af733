/**
 * A node whose handlers attach after its mesh starts (the node's role actors) defers the offer
 * sync: what its peers hold reaches the handlers once they listen, not before.
 */
import { afterEach, describe, expect, it } from 'vitest'
import type { MeshNode } from '../../../src/protocols/mesh/index.ts'
import { jobOffer, resourceOffer, wallet } from '../../unit/protocols/mesh/fixtures.ts'
import { Inbox, meshNode, sleep, waitFor } from './support.ts'

describe('deferred offer sync', () => {
  const nodes: MeshNode[] = []
  afterEach(async () => { await Promise.all(nodes.splice(0).map(async n => { await n.stop() })) })

  it('asks the peers already connected once started, and each new peer after that', async () => {
    const holder = await meshNode(1)
    const other = await meshNode(3)
    const late = await meshNode(2, { syncOnConnect: false })
    nodes.push(holder, other, late)
    const offer = await holder.publish('resource-offers', resourceOffer(wallet(1), Date.now()))
    await late.dial(holder.multiaddrs()[0]!)
    await waitFor(() => late.libp2p.getPeers().length === 1, 5000, 'the connection')
    await sleep(300)
    expect(late.liveOffers()).toEqual([]) // connected and identified, yet nothing asked

    const inbox = new Inbox(late, ['resource-offers', 'job-offers'])
    late.startOfferSync()
    await waitFor(() => inbox.has(offer.id), 5000, 'the holder\'s offer, synced')
    expect(inbox.deliveries.find(d => d.id === offer.id)?.via).toBe('sync')

    const job = await other.publish('job-offers', jobOffer(wallet(3), Date.now()))
    await late.dial(other.multiaddrs()[0]!)
    await waitFor(() => inbox.has(job.id), 5000, 'the new peer\'s job offer')
  }, 30_000)
})
