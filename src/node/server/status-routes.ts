import { dealStatuses } from './deal-status.ts'
import { machineOf } from '../activity/deal-activity.ts'
import { pathOf, reply, type ApiContext, type Route } from './routes.ts'

/** What the node holds on chain: its escrow deposit (what deals lock from), its token balance, a withdrawal under way. Null fields could not be read. */
async function balances (api: ApiContext): Promise<Record<string, string | null> | null> {
  const settlement = api.node.settlement
  if (settlement === undefined) return null
  const read = async <T>(p: Promise<T>): Promise<T | null> => await Promise.race([p, new Promise<null>(resolve => setTimeout(() => resolve(null), CHAIN_READ_MS).unref())]).catch(() => null)
  const [deposit, tokens, withdrawal] = await Promise.all([read(settlement.balanceOf()), read(settlement.tokenBalanceOf()), read(settlement.withdrawalOf())])
  return { deposit: deposit?.toString() ?? null, tokens: tokens?.toString() ?? null, withdrawing: withdrawal?.amount.toString() ?? (withdrawal === undefined ? '0' : null) }
}

/** How long `/status` waits for the chain before it answers without balances. */
const CHAIN_READ_MS = 2000

/** The offers the node holds (those it serves to peers that join), by topic: its own and others'. */
function offers (api: ApiContext): Record<string, { own: number, others: number }> {
  const out: Record<string, { own: number, others: number }> = {}
  for (const offer of api.node.mesh.liveOffers()) {
    const count = out[offer.topic] ??= { own: 0, others: 0 }
    if (offer.own) count.own++
    else count.others++
  }
  return out
}

/** What `GET /status` answers: the node, its peers, offers, balances, its log, and its deals by state. */
export async function fullStatus (api: ApiContext): Promise<Record<string, unknown>> {
  return { ...nodeStatus(api), offers: offers(api), balances: await balances(api) }
}

/** The node, its peers, its log and its deals by state: what needs no chain read. */
export function nodeStatus ({ node, roles }: ApiContext): Record<string, unknown> {
  const runtime = node.host.runtime
  const snapshots = runtime.streams().map(stream => ({ stream, machine: machineOf(stream), context: runtime.snapshot(stream)!.context as unknown }))
  const peers = node.mesh.libp2p.getPeers()
  return {
    address: node.address,
    peerId: node.mesh.peerId.toString(),
    roles,
    multiaddrs: node.mesh.multiaddrs().map(String),
    peers: peers.length,
    /** gossipsub's score of each connected peer: what it earned or lost with this node */
    peerScores: Object.fromEntries(peers.map(peer => [peer.toString(), node.mesh.score(peer)])),
    /** gossip validation outcomes by topic, result and code */
    validation: node.mesh.validationCounters(),
    /** messages no machine took (refused, or none of their business): counted, not kept */
    untakenMessages: node.host.untaken,
    streams: runtime.streams().length,
    logRecords: node.log.length,
    replayed: runtime.startReport.replayed,
    resumedOutputs: runtime.startReport.resumed,
    pendingOutputs: runtime.pendingOutputs().length,
    deals: dealStatuses(snapshots, Date.now())
  }
}

/** `GET /health` and `GET /status`. */
export const statusRoutes: Route = async (req, res, api) => {
  const path = pathOf(req)
  if (path !== '/health' && path !== '/status') return false
  if (req.method !== 'GET') { reply(res, 405, { error: 'only GET' }); return true }
  reply(res, 200, path === '/health' ? { ok: true } : await fullStatus(api))
  return true
}
