/**
 * One deal between an honest party and a strategist, with an honest mediator (unless the strategist
 * plays the mediator too), on the arena's chain.
 * The honest parties are real machines with real effects; the strategist signs what it likes and
 * calls the contract as it likes. Messages go where they are addressed: to an honest party's
 * machine, or to the strategist's inbox.
 */
import { TypedDataEncoder, Wallet } from 'ethers'
import type { MessagePayloads } from '../src/protocols/messages/schemas.ts'
import { typesFor, type MessageType } from '../src/protocols/messages/eip712-types.ts'
import type { Envelope } from '../src/protocols/messages/envelope.ts'
import type { Deal, JobOffer, MatchProposal, ResourceOffer } from '../src/protocols/messages/schemas.ts'
import { messageId, nodeMessages, signMessage } from '../src/protocols/messages/signing.ts'
import type { SignedDeal } from '../src/settlement/index.ts'
import { expectMessage, toDomain } from '../src/state-machines/common.ts'
import { buildDeal } from '../src/state-machines/deal-terms.ts'
import {
  jobCreatorMachine, mediatorMachine, resourceProviderMachine, RESOURCE_OFFERS_TOPIC, type SlotTerms
} from '../src/state-machines/index.ts'
import type { Arena, Party } from './arena.ts'
import { HonestParty, type Sent, type World } from './honest-party.ts'

export const HONEST_CID = 'QmYwAPJzv5CZsnAzt8auVZRnG6VZzwBDD3Xc3w8ZvT4qJo'
export const BAD_CID = 'QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o'
const MINUTE = 60_000

/** The job's terms, from which both kinds of game build their offers. */
export function jobTerms (author: string, arena: Arena, at: number, overrides: Partial<JobOffer> = {}): JobOffer {
  return {
    author,
    nonce: String(at),
    expiry: at + 10 * MINUTE,
    moduleRepo: 'github.com/Lilypad-Tech/lilypad-module-cowsay',
    moduleCommit: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2',
    modulePath: 'lilypad_module.json.tmpl',
    specHash: '0x' + '12'.repeat(32),
    inputs: '{"Message":"moo"}',
    image: '',
    inputsCid: '',
    urlPins: '',
    cpu: 1000,
    gpu: 0,
    gpuVramMb: 0,
    ramMb: 512,
    diskMb: 1024,
    maxPrice: '1000',
    maxSolverFee: '10',
    paymentCollateral: '2000',
    timeoutCollateral: '300',
    trustedMediators: [arena.wallets.mediator.address],
    quorum: 1,
    trustedSolvers: [arena.wallets.solver.address],
    matchDeadline: at + 10 * MINUTE,
    agreeWithin: 2 * MINUTE,
    submitWithin: 10 * MINUTE,
    judgeWithin: 10 * MINUTE,
    mediateWithin: 10 * MINUTE,
    ...overrides
  }
}

export function slotTerms (arena: Arena): SlotTerms {
  return {
    cpu: 4000,
    gpu: 0,
    gpuVramMb: 0,
    ramMb: 8192,
    diskMb: 65536,
    maxSubmitWithin: 3 * 60 * MINUTE,
    modules: [],
    price: '800',
    resultsCollateral: '1500',
    timeoutCollateral: '400',
    trustedMediators: [arena.wallets.mediator.address],
    trustedSolvers: [arena.wallets.solver.address],
    multiaddrs: ['/ip4/127.0.0.1/tcp/4001']
  }
}

export interface GameOptions {
  /** what every honest run of the job produces (a deterministic failure is a result too) */
  cid?: string
  job?: Partial<JobOffer>
  /** the honest creator's check rate */
  checkRate?: number
  /** why the job cannot run on the honest provider's machine, found before signing */
  unrunnable?: string
  /** the strategist's account, when not the usual one for its role (one without a deposit, say) */
  as?: Party
  /** what the strategist does after its signature on `deal` and before the honest party's checks */
  beforeChecks?: (g: Game, deal: Deal) => Promise<void>
  /** the deal the strategist signs instead of the one the offers make */
  tamper?: (deal: Deal) => Deal
  /** the strategist provider co-signs and keeps its co-signature to itself */
  withholdCoSignature?: boolean
  /** the strategist also holds the mediator's key: no honest mediator joins, and what reaches the mediator reaches the strategist */
  strategistMediates?: boolean
  /** a second mediator of the deal, whose key the strategist holds, beside the honest one: the chain draws which judges */
  colluder?: Party
  /** the deal asks for two matching verdicts of its mediators: a second honest one joins, beside the colluder */
  quorum?: 2
  /** what the strategist does with a message on the wire before it reaches an honest party */
  beforeDelivery?: (g: Game, sent: Sent) => Promise<void>
}

export class Game {
  readonly network: Sent[] = []
  /** what reached the strategist */
  readonly inbox: Sent[] = []
  honest!: HonestParty
  mediator!: HonestParty
  /** the second honest mediator of a quorum deal */
  otherMediator?: HonestParty
  deal!: Deal
  dealId!: string
  signedDeal!: SignedDeal
  job!: Envelope<'JobOffer'>
  cid: string

  /** whether the honest party co-signed (a deal it walked away from binds no one) */
  cosigned = false
  /** the jobs the honest mediator re-ran */
  reruns = 0
  /** whether the strategist's mediator gave its verdict (beforeDelivery) */
  colluderVoted = false

  constructor (readonly arena: Arena, readonly strategist: Party, readonly options: GameOptions) {
    this.cid = options.cid ?? HONEST_CID
  }

  get wallet (): Wallet {
    return this.arena.wallets[this.strategist]
  }

  get client (): Arena['clients'][Party] {
    return this.arena.clients[this.strategist]
  }

  /** The deal's mediators: the honest one, and the strategist's own when it has one. */
  get mediators (): string[] {
    const colluder = this.options.colluder
    const honest = this.options.quorum === undefined ? ['mediator' as const] : ['mediator' as const, 'otherMediator' as const]
    return [...honest, ...(colluder === undefined ? [] : [colluder])].map(p => this.arena.wallets[p].address)
  }

  /** The job terms of the deal's mediators: all of them trusted, and the quorum asked. */
  private get mediation (): { trustedMediators: string[], quorum: number } {
    return { trustedMediators: this.mediators, quorum: this.options.quorum ?? 1 }
  }

  /** The strategist's signature on a message. */
  sign<T extends MessageType> (type: T, message: MessagePayloads[T], existing: string[] = []): Envelope<T> {
    return signMessage(this.wallet, toDomain(this.arena.domain), type, message, existing)
  }

  /**
   * The strategist's signature on a message as it is, past the wire's own checks: what a strategist
   * that does not use this project's library can send. The honest party's checks refuse it.
   */
  signAsIs<T extends MessageType> (type: T, message: MessagePayloads[T]): Envelope<T> {
    const digest = TypedDataEncoder.hash(toDomain(this.arena.domain), typesFor(type), message as unknown as Record<string, unknown>)
    return { type, message, signatures: [this.wallet.signingKey.sign(digest).serialized] }
  }

  signAs<T extends MessageType> (who: Party, type: T, message: MessagePayloads[T]): Envelope<T> {
    return signMessage(this.arena.wallets[who], toDomain(this.arena.domain), type, message)
  }

  id<T extends MessageType> (type: T, message: MessagePayloads[T]): string {
    return messageId(toDomain(this.arena.domain), type, message)
  }

  private world (): World {
    const failure = this.options.unrunnable
    return {
      prepare: () => failure === undefined ? { ok: true } : { ok: false, failure },
      run: (output) => {
        if (output.purpose === 'mediate') this.reruns++
        return { resultsCid: this.cid }
      },
      fetched: () => true
    }
  }

  async joinMediator (): Promise<void> {
    if (this.options.strategistMediates === true) return
    this.mediator = await HonestParty.join(this.arena, 'mediator', mediatorMachine, { capacity: 4 }, this.world(), this.network)
    if (this.options.quorum !== undefined) this.otherMediator = await HonestParty.join(this.arena, 'otherMediator', mediatorMachine, { capacity: 4 }, this.world(), this.network)
  }

  /** The honest parties in play. */
  private get parties (): HonestParty[] {
    return [this.honest, this.mediator, this.otherMediator].filter((p): p is HonestParty => p !== undefined)
  }

  /** Hands a message to the honest party, as the strategist. */
  async tell (envelope: Envelope, attachments: Envelope[] = []): Promise<void> {
    await this.honest.receive({ envelope, attachments })
    await this.settle()
  }

  /** Delivers what is on the wire until nothing is. */
  async settle (): Promise<void> {
    for (;;) {
      const sent = this.network.shift()
      if (sent === undefined) return
      if (sent.to === undefined) continue
      await this.options.beforeDelivery?.(this, sent)
      const to = this.parties.find(p => p.address.toLowerCase() === sent.to?.toLowerCase())
      if (to === undefined) this.inbox.push(sent)
      else await to.receive({ envelope: sent.envelope, attachments: sent.attachments })
    }
  }

  /**
   * Moves the chain's clock past `ms`, stopping at each deadline an honest party holds on the way so
   * that it acts when its node would, not all at once at the end.
   */
  async passTo (ms: number): Promise<void> {
    for (;;) {
      await this.act()
      const next = Math.min(...this.parties.map(p => p.nextDeadline()))
      if (next >= ms) break
      await this.arena.passTo(next)
    }
    await this.arena.passTo(ms)
    await this.act()
  }

  /** Lets the honest parties act on every deadline passed, until none acts. */
  async act (): Promise<void> {
    for (;;) {
      await this.settle()
      let fired = 0
      for (const p of this.parties) fired += await p.fireDue()
      await this.settle()
      if (fired === 0) return
    }
  }

  /** The strategist's latest inbox message of a type. */
  received<T extends MessageType> (type: T): Envelope<T> {
    const found = [...this.inbox].reverse().find(s => s.envelope.type === type)
    if (found === undefined) throw new Error(`the strategist received no ${type}`)
    return found.envelope as Envelope<T>
  }

  /** Plays the deal out to its end: every deadline passes, and every party acts on it. */
  async finish (): Promise<void> {
    for (const deadline of [this.deal.submitDeadline, this.deal.judgeDeadline, this.deal.mediateDeadline]) {
      if (deadline > await this.arena.now()) await this.passTo(deadline)
    }
    await this.passTo(this.deal.mediateDeadline + MINUTE)
  }

  async close (): Promise<void> {
    await this.honest?.close()
    await this.mediator?.close()
    await this.otherMediator?.close()
  }

  private dealFrom (job: Envelope<'JobOffer'>, offer: Envelope<'ResourceOffer'>, proposal: Envelope<'MatchProposal'>, at: number): Deal {
    const domain = this.arena.domain
    return buildDeal(
      expectMessage(nodeMessages, domain, job, 'JobOffer', at), expectMessage(nodeMessages, domain, offer, 'ResourceOffer', at),
      expectMessage(nodeMessages, domain, proposal, 'MatchProposal', at)
    )
  }

  private proposalFor (job: Envelope<'JobOffer'>, offer: Envelope<'ResourceOffer'>, at: number): Envelope<'MatchProposal'> {
    const proposal: MatchProposal = {
      author: this.arena.wallets.solver.address,
      nonce: String(at),
      expiry: at + 2 * MINUTE,
      jobOfferId: this.id('JobOffer', job.message),
      resourceOfferId: this.id('ResourceOffer', offer.message),
      jobCreator: job.message.author,
      resourceProvider: offer.message.author,
      price: offer.message.price,
      solverFee: '5',
      mediatorFee: String(50 * (this.options.quorum ?? 1)),
      mediators: this.mediators
    }
    return this.signAs('solver', 'MatchProposal', proposal)
  }

  private keep (deal: Deal, signatures: string[]): void {
    this.deal = deal
    this.dealId = this.id('Deal', deal)
    this.signedDeal = { deal, jobCreatorSignature: signatures[0] as string, resourceProviderSignature: signatures[1] as string }
  }

  /**
   * The strategist as job creator: its job is matched with the honest provider's offer, it signs the
   * deal, the provider co-signs and runs the job, and its results reach the strategist.
   */
  static async againstProvider (arena: Arena, options: GameOptions = {}): Promise<Game> {
    const g = new Game(arena, options.as ?? 'jobCreator', options)
    await g.joinMediator()
    const slot = { ...slotTerms(arena), trustedMediators: g.mediators }
    g.honest = await HonestParty.join(arena, 'resourceProvider', resourceProviderMachine, { slots: [slot], offerTtlMs: 20 * 60_000, commitMarginMs: 2 * MINUTE }, g.world(), g.network)
    const offer = g.network.find(s => s.topic === RESOURCE_OFFERS_TOPIC)?.envelope as Envelope<'ResourceOffer'>
    const at = await arena.now()
    g.job = g.sign('JobOffer', jobTerms(g.wallet.address, arena, at, { ...g.mediation, ...options.job }))
    const proposal = g.proposalFor(g.job, offer, at)
    await g.tell(proposal, [g.job])
    const made = g.dealFrom(g.job, offer, proposal, at)
    const deal = options.tamper?.(made) ?? made
    const half = g.signAsIs('Deal', deal)
    await options.beforeChecks?.(g, deal)
    await g.tell(half)
    const cosigned = g.inbox.find(sent => sent.envelope.type === 'Deal')?.envelope
    g.cosigned = cosigned !== undefined
    g.keep(deal, cosigned?.signatures ?? half.signatures)
    return g
  }

  /**
   * The strategist as resource provider: its offer is matched with the honest creator's job, the
   * creator signs the deal and the strategist co-signs it. What the strategist runs is its own affair.
   */
  static async againstCreator (arena: Arena, options: GameOptions = {}): Promise<Game> {
    const g = new Game(arena, options.as ?? 'resourceProvider', options)
    await g.joinMediator()
    const at = await arena.now()
    const job = jobTerms(arena.wallets.jobCreator.address, arena, at, { ...g.mediation, ...options.job })
    g.honest = await HonestParty.join(arena, 'jobCreator', jobCreatorMachine, { job, secret: '0x' + '5e'.repeat(32), checkRate: options.checkRate ?? 1 }, g.world(), g.network)
    g.job = await g.honest.message(g.id('JobOffer', job)) as Envelope<'JobOffer'>
    const offer: ResourceOffer = { ...slotTerms(arena), trustedMediators: g.mediators, author: g.wallet.address, nonce: String(at), expiry: at + 20 * MINUTE, slot: 0 }
    const offerEnv = g.sign('ResourceOffer', offer)
    const proposal = g.proposalFor(g.job, offerEnv, at)
    await g.tell(proposal, [offerEnv])
    const half = g.inbox.find(sent => sent.envelope.type === 'Deal')?.envelope as Envelope<'Deal'> | undefined
    if (half === undefined) {
      // the creator walked away before signing: the deal its terms would have made, signed by no one
      g.keep(g.dealFrom(g.job, offerEnv, proposal, at), [])
      return g
    }
    const cosigned = g.sign('Deal', half.message, half.signatures)
    if (options.withholdCoSignature !== true) await g.tell(cosigned)
    g.keep(half.message, cosigned.signatures)
    g.cosigned = true
    return g
  }

  /**
   * Two throwaway keys with no deposits make a deal between themselves that names the honest mediator,
   * challenge its "results" and bring the challenge to the mediator, hoping for a free re-run. The
   * strategist is the outsider, who sends the transactions the keys cannot pay for.
   */
  static async againstMediator (arena: Arena): Promise<Game> {
    const g = new Game(arena, 'outsider', {})
    await g.joinMediator()
    const creator = Wallet.createRandom()
    const provider = Wallet.createRandom()
    const domain = toDomain(arena.domain)
    const at = await arena.now()
    const job = signMessage(creator, domain, 'JobOffer', jobTerms(creator.address, arena, at))
    const offer = signMessage(provider, domain, 'ResourceOffer', { ...slotTerms(arena), author: provider.address, nonce: String(at), expiry: at + 20 * MINUTE, slot: 0 })
    const proposal = g.proposalFor(job, offer, at)
    const made = g.dealFrom(job, offer, proposal, at)
    const half = signMessage(creator, domain, 'Deal', made)
    const deal = signMessage(provider, domain, 'Deal', made, half.signatures)
    g.keep(made, deal.signatures)
    g.cosigned = true
    const results = signMessage(provider, domain, 'ResultsSubmitted', { author: provider.address, nonce: '1', expiry: made.mediateDeadline, dealId: g.dealId, resultsCid: HONEST_CID, exitCode: 0, cpuMs: 1, durationMs: 1 })
    const challenge = signMessage(creator, domain, 'ResultsChallenged', { author: creator.address, nonce: '1', expiry: made.mediateDeadline, dealId: g.dealId, resultsCid: HONEST_CID })
    await g.mediator.receive({ envelope: challenge, attachments: [deal, results, job] })
    await g.settle()
    // the chain refuses it: a challenge locks the deal's funds, and these keys have none
    await g.client.challengeResults(g.signedDeal, challenge.message, challenge.signatures[0] as string, results.message, results.signatures[0] as string).catch(() => undefined)
    return g
  }

  /** The strategist creator's signed challenge of results (the chain draws its judge). */
  challenge (resultsCid: string): Envelope<'ResultsChallenged'> {
    return this.sign('ResultsChallenged', { author: this.wallet.address, nonce: '1', expiry: this.deal.mediateDeadline, dealId: this.dealId, resultsCid })
  }

  /** Posts a challenge on chain with the results it challenges as evidence. */
  async postChallenge (challenge: Envelope<'ResultsChallenged'>, results: Envelope<'ResultsSubmitted'>): Promise<void> {
    await this.client.challengeResults(this.signedDeal, challenge.message, challenge.signatures[0] as string, results.message, results.signatures[0] as string)
  }

  /** Commits results on chain as the strategist provider. */
  async commit (results: Envelope<'ResultsSubmitted'>): Promise<void> {
    await this.client.commitResults(this.signedDeal, results.message, results.signatures[0] as string)
  }

  /** The strategist provider's signed results of the deal. */
  results (resultsCid: string, nonce = '1'): Envelope<'ResultsSubmitted'> {
    return this.sign('ResultsSubmitted', { author: this.wallet.address, nonce, expiry: this.deal.mediateDeadline, dealId: this.dealId, resultsCid, exitCode: 0, cpuMs: 1, durationMs: 1 })
  }
}
