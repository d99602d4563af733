// The flood bench's attacker, a process of its own: identities (libp2p nodes with their own keys)
// that connect to the victims and, until the time is up, send what costs them little: valid offers
// from every identity (unfunded, cheap, trusting the network's solvers), direct messages carrying
// the most attachments allowed, half-signed deals to the provider, and DHT provider records.
// Prints one JSON line when done: its peer ids and what it sent.
import '../src/polyfills.ts'
import { randomBytes } from 'node:crypto'
import { Wallet } from 'ethers'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { lilypadDomain, signMessage } from '../src/protocols/messages/index.ts'
import { createMeshNode, DIRECT_PROTOCOLS, gossipTopic, type MeshNode } from '../src/protocols/mesh/index.ts'
import { dealTerms, jobOffer, resourceOffer } from '../test/unit/protocols/mesh/fixtures.ts'

export interface AttackPlan {
  network: string
  chainId: string
  settlement: string
  bootstrap: string[]
  solvers: string[]
  mediators: string[]
  /** the provider's multiaddr (with /p2p/) and address: where deal spam goes */
  provider: { multiaddr: string, address: string }
  identities: number
  durationMs: number
  /** what this process sends: gossiped offers, or direct messages and DHT records (each its own process, so that one does not starve the other) */
  mode: 'offers' | 'direct'
}

const plan = JSON.parse(process.argv[2]!) as AttackPlan
const domain = lilypadDomain(BigInt(plan.chainId), plan.settlement)
const sent = { offers: 0, jobs: 0, attachmentMessages: 0, halfSignedDeals: 0, dhtRecords: 0, refused: 0, gossipRecipients: 0 }
/** the first error of each kind of sending, for the report */
const errors: Record<string, string> = {}
const failed = (kind: string) => (err: Error): void => {
  sent.refused++
  errors[kind] ??= err.message
}
const end = { at: 0 }
const wallets = Array.from({ length: plan.identities }, () => new Wallet('0x' + randomBytes(32).toString('hex')))
const nodes: MeshNode[] = []
for (const wallet of wallets) {
  nodes.push(await createMeshNode({ privateKey: wallet.privateKey, network: plan.network, domain, bootstrap: plan.bootstrap, peerRouting: true, syncOnConnect: false }))
}
// each identity floods once a victim takes its gossip (or after 20 s, with whatever it has)
const offersTopic = gossipTopic(plan.network, 'resource-offers')
for (const waitUntil = Date.now() + 20_000; Date.now() < waitUntil;) {
  if (nodes.every(n => n.libp2p.services.pubsub.getSubscribers(offersTopic).length > 0)) break
  await new Promise(resolve => setTimeout(resolve, 200))
}
end.at = Date.now() + plan.durationMs
process.stdout.write(JSON.stringify({ peers: nodes.map(n => n.peerId.toString()) }) + '\n')

const cheapTerms = { trustedSolvers: plan.solvers, trustedMediators: plan.mediators }
// message templates, each signed afresh under the network's domain with the fields that vary
const offerTemplate = resourceOffer(wallets[0]!, 0).message
const jobTemplate = jobOffer(wallets[0]!, 0).message

async function offers (i: number): Promise<void> {
  const wallet = wallets[i]!
  const node = nodes[i]!
  for (let n = 0; Date.now() < end.at; n++) {
    const now = Date.now()
    const offer = signMessage(wallet, domain, 'ResourceOffer', { ...offerTemplate, author: wallet.address, nonce: String(now), slot: n, price: '1', ...cheapTerms, expiry: now + 3600_000 })
    const job = signMessage(wallet, domain, 'JobOffer', { ...jobTemplate, author: wallet.address, nonce: String(now + n), maxPrice: '10000000000000000', paymentCollateral: '10000000000000010', ...cheapTerms, expiry: now + 3600_000, matchDeadline: now + 600_000 })
    await node.publish('resource-offers', offer).then((r) => { sent.offers++; sent.gossipRecipients += r.recipients }, failed('offer'))
    await node.publish('job-offers', job).then((r) => { sent.jobs++; sent.gossipRecipients += r.recipients }, failed('job'))
  }
}

/** A proposal to the provider with four attachments near their size cap (24 KiB). */
async function attachmentHeavy (): Promise<void> {
  const wallet = wallets[0]!
  const node = nodes[0]!
  const now = Date.now()
  const big = Array.from({ length: 4 }, (_, k) => signMessage(wallet, domain, 'JobOffer', { ...jobTemplate, author: wallet.address, nonce: String(now + k), expiry: now + 3600_000, matchDeadline: now + 600_000, ...cheapTerms, inputs: JSON.stringify({ Message: 'x'.repeat(16_000) }) }))
  while (Date.now() < end.at) {
    const proposal = signMessage(wallet, domain, 'MatchProposal', {
      author: wallet.address, nonce: String(Date.now()), expiry: Date.now() + 30_000,
      jobOfferId: '0x' + randomBytes(32).toString('hex'), resourceOfferId: '0x' + randomBytes(32).toString('hex'),
      jobCreator: wallet.address, resourceProvider: plan.provider.address, price: '1', solverFee: '0', mediatorFee: '0', mediators: plan.mediators
    })
    await node.sendDirect(plan.provider.multiaddr, DIRECT_PROTOCOLS.deal, { envelope: proposal, attachments: big }, { timeoutMs: 3000 }).then(() => { sent.attachmentMessages++ }, failed('attachments'))
  }
}

/** Deals signed by the attacker alone, naming the provider, with no proposal behind them. */
async function halfSignedDeals (): Promise<void> {
  const wallet = wallets[1 % wallets.length]!
  const node = nodes[1 % nodes.length]!
  while (Date.now() < end.at) {
    const now = Date.now()
    const terms = { ...dealTerms(wallet, wallet, now), resourceProvider: plan.provider.address, solver: plan.solvers[0]!, mediators: plan.mediators, jobOfferId: '0x' + randomBytes(32).toString('hex') }
    const deal = signMessage(wallet, domain, 'Deal', terms)
    await node.sendDirect(plan.provider.multiaddr, DIRECT_PROTOCOLS.deal, { envelope: deal }, { timeoutMs: 3000 }).then(() => { sent.halfSignedDeals++ }, failed('deal'))
  }
}

/** Provider records for random content, which the victims' DHT servers are asked to store: many at once, each a lookup that ends by storing the record. */
async function dhtSpam (): Promise<void> {
  const node = nodes[2 % nodes.length]!
  const one = async (): Promise<void> => {
    while (Date.now() < end.at) {
      const cid = CID.createV1(0x55, await sha256.digest(randomBytes(32)))
      // a lookup may wait on peers that left (a dial timeout each): give it until the flood ends
      await node.libp2p.contentRouting.provide(cid, { signal: AbortSignal.timeout(Math.max(1000, end.at - Date.now())) }).then(() => { sent.dhtRecords++ }, failed('dht'))
    }
  }
  await Promise.all(Array.from({ length: 64 }, one))
}

await Promise.all(plan.mode === 'offers' ? wallets.map((_, i) => offers(i)) : [attachmentHeavy(), halfSignedDeals(), dhtSpam()])
process.stdout.write(JSON.stringify({ peers: nodes.map(n => n.peerId.toString()), sent, errors }) + '\n')
await Promise.all(nodes.map(n => n.stop()))
process.exit(0)
