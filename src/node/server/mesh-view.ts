import type { JobOffer, ResourceOffer } from '../../protocols/messages/schemas.ts'
import type { SolverContext } from '../../state-machines/solver.machine.ts'
import type { LilypadNode } from '../node.ts'

/** How many entries of each list the dashboard is sent; the counts tell how many there are. */
const SHOWN = 200

export interface BookOffer { id: string, author: string, slot: number, price: string, cpu: number, gpu: number, ramMb: number, modules: string[], until: number, heldUntil: number }
export interface BookJob { id: string, author: string, module: string, maxPrice: string, matchDeadline: number, heldUntil: number }

/** What the node sees of the mesh: its peers and topics, the offers it holds, and a solver's book. */
export interface MeshView {
  peers: Array<{ id: string, score: number }>
  topics: string[]
  offers: { count: number, shown: ReturnType<LilypadNode['mesh']['liveOffers']> }
  /** the solver's order book; null on a node that is no solver */
  book: { offers: number, jobs: number, shownOffers: BookOffer[], shownJobs: BookJob[] } | null
}

export function meshView (node: LilypadNode): MeshView {
  const offers = node.mesh.liveOffers().sort((a, b) => b.expiry - a.expiry)
  return {
    peers: node.mesh.libp2p.getPeers().map(peer => ({ id: peer.toString(), score: node.mesh.score(peer) })),
    topics: node.mesh.libp2p.services.pubsub.getTopics().sort(),
    offers: { count: offers.length, shown: offers.slice(0, SHOWN) },
    book: bookOf(node.host.runtime.snapshot('solver')?.context as SolverContext | undefined)
  }
}

function bookOf (c: SolverContext | undefined): MeshView['book'] {
  if (c === undefined) return null
  return {
    offers: c.offers.length,
    jobs: c.jobs.length,
    // in book order: cheapest first
    shownOffers: c.offers.slice(0, SHOWN).map(entry => {
      const o = entry.envelope.message as ResourceOffer
      return { id: entry.id, author: entry.author, slot: entry.slot, price: o.price, cpu: o.cpu, gpu: o.gpu, ramMb: o.ramMb, modules: o.modules, until: entry.until, heldUntil: entry.heldUntil }
    }),
    // newest first
    shownJobs: c.jobs.slice(-SHOWN).reverse().map(entry => {
      const j = entry.envelope.message as JobOffer
      return { id: entry.id, author: j.author, module: j.moduleRepo, maxPrice: j.maxPrice, matchDeadline: j.matchDeadline, heldUntil: entry.heldUntil }
    })
  }
}
