/**
 * Several parties at once on one devnet (two one-slot providers, two solvers, a mediator, each its
 * own process; cowsay on Docker): solvers racing for the same offers, and job creators outnumbering
 * the providers' slots.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SettlementClient } from '../../../src/settlement/client.ts'
import { startE2eNetwork, type E2eNetwork } from './e2e-network.ts'
import { creatorDeals, outputsOf, providerDeals } from './node-logs.ts'

describe('jobs side by side on one network', () => {
  let net: E2eNetwork
  let chain: SettlementClient

  beforeAll(async () => {
    net = await startE2eNetwork({ jobCreators: 3 })
    const { info } = net.devnet
    chain = await SettlementClient.open({ rpcUrl: info.rpcUrl, privateKey: info.jobCreatorKey, settlementAddress: info.settlementAddress })
  }, 300_000)

  afterAll(async () => {
    await chain?.close()
    await net?.stop()
  }, 60_000)

  afterEach(async () => {
    await net.auditEverything()
  }, 60_000)

  it('two solvers race for the same offers, and each job still gets exactly one deal, settled once', async () => {
    const runs = []
    for (let i = 0; i < 2; i++) runs.push(await net.runCowsay(`race ${i}`, { dataDir: await net.jobDir(`race-${i}`) }))
    expect(runs.map(r => r.outcome)).toEqual(['Accepted', 'Accepted'])

    const logs = await net.auditEverything()
    const solvers = net.devnet.info.nodes.filter(n => n.roles.includes('solver')).map(n => logs.nodes.get(n.name)!)
    expect(solvers).toHaveLength(2)
    const providerDealsByJob = new Map<string, string[]>()
    for (const log of logs.nodes.values()) {
      for (const deal of providerDeals(log).values()) providerDealsByJob.set(deal.jobOfferId, [...(providerDealsByJob.get(deal.jobOfferId) ?? []), deal.dealId])
    }
    let raced = 0
    for (const creator of logs.creators) {
      const [deal, ...more] = creatorDeals(creator)
      expect(more).toEqual([])
      // both solvers proposed this job (the race), yet one deal was signed, by one provider, and it settled
      const proposers = solvers.filter(s => outputsOf(s, 'message.send', 'MatchProposal').some(o => (o.attach as string[])[0] === deal!.jobOfferId))
      if (proposers.length === 2) raced++
      expect(proposers.length).toBeGreaterThanOrEqual(1)
      expect(outputsOf(creator, 'message.send', 'Deal')).toHaveLength(1)
      expect(providerDealsByJob.get(deal!.jobOfferId)).toEqual([deal!.dealId])
      expect(await chain.dealRecord(deal!.dealId)).toMatchObject({ state: 'Settled', outcome: 'Accepted' })
    }
    expect(raced, 'jobs that both solvers proposed').toBeGreaterThanOrEqual(1)
  }, 120_000)

  it('three job creators at once on two one-slot providers: every job completes and no slot is booked twice', async () => {
    const runs = await Promise.all([0, 1, 2].map(async creator =>
      await net.runCowsay(`creator ${creator}`, { creator, dataDir: await net.jobDir(`together-${creator}`) })))
    expect(runs.map(r => [r.outcome, r.settled])).toEqual([['Accepted', true], ['Accepted', true], ['Accepted', true]])
    runs.forEach((r, creator) => expect(r.stdout).toContain(`< creator ${creator} >`))
    expect(new Set(runs.map(r => r.dealId)).size).toBe(3)

    // auditEverything checks every provider's history for a slot held by two unfinished deals
    const logs = await net.auditEverything()
    const offersTaken = [...logs.nodes.values()].flatMap(log => [...providerDeals(log).values()].map(d => d.deal.resourceOfferId))
    expect(new Set(offersTaken).size, 'each slot offer is taken by one deal').toBe(offersTaken.length)
    const together = logs.deals.filter(d => runs.some(r => r.dealId === d.dealId))
    expect(together).toHaveLength(3)
  }, 180_000)
})
