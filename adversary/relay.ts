/**
 * A relayer plays against a contract that asked for a job (LilypadJobs, ExampleCowsayClient as the
 * requester). The relayer is the strategist: a job creator that offers the request's job, has a deal
 * for it settled with the arena's provider, and delivers what it likes. The requester does nothing
 * but wait: once its deadline passes undelivered, it takes its payment back. It holds when the
 * contract refused every cheat, the requester paid no more than one honest delivery costs, and what
 * it was called back with (the results' CID, the cow of their stdout) is the honest results'.
 */
import { pathProof } from '../src/executor/results/path-proof.ts'
import { ExampleCowsayClient, OnchainJobsClient, SettlementError, signMessage, type OutputProof, type SignedDeal } from '../src/settlement/index.ts'
import type { JobOffer } from '../src/protocols/messages/schemas.ts'
import type { DealOutcome } from '../src/state-machines/deal-states.ts'
import { CID as HONEST_CID, type Fixture } from '../test/integration/settlement/fixture.ts'
import { COWSAY, dealFor, offerFor } from '../test/integration/settlement/jobs.ts'
import { COW, resultsFolder } from '../test/integration/settlement/results-folder.ts'
import type { Arena } from './arena.ts'
import { BAD_CID } from './game.ts'
import type { Row } from './matrix.ts'

export interface RelayStrategy {
  name: string
  by: 'relayer'
  against: 'requester'
  /** what the request ends as */
  settles: 'Delivered' | 'Refunded'
  /** the outcome of the one deal the requester pays for; null when it is owed its payment back */
  owed: DealOutcome | null
  play: (r: Relay) => Promise<void>
}

const PAYMENT = 5000n
const FEE = 100n
const HOUR = 3600_000

/** the proof of the honest results' stdout (the honest results are those the fixture's deals commit) */
interface Contracts { jobs: string, requester: ExampleCowsayClient, stdout: OutputProof }

/** LilypadJobs and the requester, deployed once per arena, by its outsider. */
const deployed = new WeakMap<Arena, Promise<Contracts>>()

function contractsOf (arena: Arena): Promise<Contracts> {
  let found = deployed.get(arena)
  if (found === undefined) {
    deployed.set(arena, found = (async () => {
      const jobs = await OnchainJobsClient.deploy(arena.clients.outsider)
      const requester = await ExampleCowsayClient.deploy(jobs)
      await requester.fund(PAYMENT * 20n)
      const folder = await resultsFolder()
      if (folder.cid.toString() !== HONEST_CID) throw new Error(`the honest results folder is ${folder.cid}, not ${HONEST_CID}`)
      return { jobs: jobs.address, requester, stdout: { path: 'stdout', blocks: await pathProof(folder.blockstore, folder.cid, 'stdout') } }
    })())
  }
  return found
}

export class Relay {
  /** the deal the requester is owed a delivery of, once the strategist made one */
  honestDeal?: SignedDeal
  /** the cheats the contract let through */
  readonly accepted: string[] = []

  private constructor (
    readonly arena: Arena,
    /** the strategist's client: the arena's job creator */
    readonly jobs: OnchainJobsClient,
    readonly requester: ExampleCowsayClient,
    readonly requestId: string,
    readonly offer: JobOffer,
    /** the proof of the honest results' stdout, which the requester asks for */
    readonly stdout: OutputProof
  ) {}

  static async ask (arena: Arena): Promise<Relay> {
    const { jobs, requester, stdout } = await contractsOf(arena)
    const { requestId } = await requester.ask({ ...COWSAY, message: 'moo', payment: PAYMENT, relayerFee: FEE, deadline: await arena.now() + HOUR, claimWindow: 60_000 })
    const relayer = await OnchainJobsClient.attach(arena.clients.jobCreator, jobs)
    return new Relay(arena, relayer, requester, requestId, offerFor(fixtureOf(arena), requestId, 'moo'), stdout)
  }

  /** A deal for an offer, settled to `outcome` with the arena's provider (see dealFor). */
  async deal (offer: JobOffer = this.offer, outcome: DealOutcome | 'unsettled' = 'Accepted', options: Parameters<typeof dealFor>[3] = {}): Promise<SignedDeal> {
    return await dealFor(fixtureOf(this.arena), offer, outcome, options)
  }

  /** The honest delivery of the request's results. */
  async deliver (): Promise<void> {
    this.honestDeal = await this.deal()
    await this.jobs.deliver(this.requestId, this.honestDeal, this.offer, HONEST_CID, this.stdout)
  }

  /** A delivery the contract must refuse. */
  async cheat (what: string, signed: SignedDeal, offer: JobOffer, resultsCid: string, output = this.stdout): Promise<void> {
    await this.refused(what, async () => await this.jobs.deliver(this.requestId, signed, offer, resultsCid, output))
  }

  /** A call the contract must refuse: what it let through is counted against it. */
  async refused (what: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call()
      this.accepted.push(what)
    } catch (err) {
      if (!(err instanceof SettlementError) || err.revert === undefined) throw err
    }
  }
}

/** Plays a relayer's strategy: the requester's token balance, from before its request to its refund, set against what it owes. */
export async function playRelay (arena: Arena, strategy: RelayStrategy): Promise<Row> {
  const { requester } = await contractsOf(arena)
  const tokens = async (): Promise<bigint> => await arena.clients.outsider.tokenBalanceOf(requester.address)
  const before = await tokens()
  const relay = await Relay.ask(arena)
  await strategy.play(relay)
  const request = await relay.jobs.requestOf(relay.requestId)
  if (request.status === 'Open') {
    await arena.passTo(request.terms.deadline)
    await requester.jobs.refund(relay.requestId)
  }
  const got = await tokens() - before
  const deal = relay.honestDeal?.deal
  // a mediation is owed up to the example's cap: a quarter of the payment
  const mediation = strategy.owed === 'MediationAccepted' && deal !== undefined ? min(BigInt(deal.mediatorFee), PAYMENT / 4n) : 0n
  const payout = strategy.owed === null || deal === undefined ? 0n : -(BigInt(deal.price) + BigInt(deal.solverFee) + mediation + FEE)
  const status = (await relay.jobs.requestOf(relay.requestId)).status
  const cid = await requester.resultsCidOf(relay.requestId)
  const cow = await requester.cowOf(relay.requestId)
  return {
    strategy: strategy.name,
    honest: 'requester',
    owed: strategy.owed,
    payout,
    got,
    outcome: status,
    held: relay.accepted.length === 0 && got >= payout && cid === (status === 'Delivered' ? HONEST_CID : undefined) && cow === (status === 'Delivered' ? COW : undefined)
  }
}

function min (a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

/** The arena as the settlement tests' fixture, whose deals it makes the same way. */
function fixtureOf (arena: Arena): Fixture {
  return {
    chain: arena.chain,
    deployment: undefined as never,
    clients: arena.clients,
    wallets: arena.wallets,
    stop: async () => {}
  }
}

export const RELAY_STRATEGIES: RelayStrategy[] = [
  {
    name: 'relayer: fake results, a CID its settled deal did not settle',
    by: 'relayer',
    against: 'requester',
    settles: 'Refunded',
    owed: null,
    play: async (r) => {
      await r.cheat('another CID than the one committed', await r.deal(), r.offer, BAD_CID)
      // accepted with no results on chain at all: the CID is the relayer's word only, or its own signature
      const bare = await r.deal(r.offer, 'Accepted', { commit: false })
      await r.cheat('a CID of a deal with none on chain', bare, r.offer, HONEST_CID)
      const creator = r.arena.clients.jobCreator
      const made = { author: creator.wallet.address, nonce: '1', expiry: bare.deal.mediateDeadline, dealId: creator.dealId(bare.deal), resultsCid: BAD_CID, exitCode: 0, cpuMs: 1, durationMs: 1 }
      const signature = await signMessage(creator.wallet, creator.domain, 'ResultsSubmitted', made)
      await r.refused('results the relayer signed itself', async () => await r.jobs.deliverWithResults(r.requestId, bare, r.offer, { message: made, signature }, r.stdout))
    }
  },
  {
    name: 'relayer: a fake output, blocks the results\' CID does not link to',
    by: 'relayer',
    against: 'requester',
    settles: 'Delivered',
    owed: 'Accepted',
    play: async (r) => {
      const signed = await r.deal()
      const [folder] = r.stdout.blocks as [Uint8Array]
      // another folder's cow, its folder block and all: each block must be the one its parent links to
      const fake = await resultsFolder('< the relayer says >\n')
      const fakeStdout = await pathProof(fake.blockstore, fake.cid, 'stdout')
      await r.cheat('another file\'s block under the honest folder', signed, r.offer, HONEST_CID, { path: 'stdout', blocks: [folder, fakeStdout[1]!] })
      await r.cheat('another folder whole', signed, r.offer, HONEST_CID, { path: 'stdout', blocks: fakeStdout })
      const honest = await resultsFolder()
      await r.cheat('the output of another file than asked', signed, r.offer, HONEST_CID, { path: 'stderr', blocks: await pathProof(honest.blockstore, honest.cid, 'stderr') })
      await r.cheat('no output at all', signed, r.offer, HONEST_CID, { path: '', blocks: [] })
      r.honestDeal = signed
      await r.jobs.deliver(r.requestId, signed, r.offer, HONEST_CID, r.stdout)
    }
  },
  {
    name: 'relayer: challenges honest results before a mediator in league, for a fee above the cap',
    by: 'relayer',
    against: 'requester',
    settles: 'Delivered',
    owed: 'MediationAccepted',
    play: async (r) => {
      // the mediator upholds the results and takes a fee that would leave the requester no change
      r.honestDeal = await r.deal(r.offer, 'MediationAccepted', { deal: { mediatorFee: '3800', paymentCollateral: '5000', timeoutCollateral: '3800' } })
      await r.jobs.deliver(r.requestId, r.honestDeal, r.offer, HONEST_CID, r.stdout)
    }
  },
  {
    name: 'relayer: claims and never delivers, claim after claim',
    by: 'relayer',
    against: 'requester',
    settles: 'Refunded',
    owed: null,
    play: async (r) => {
      // each claim keeps honest relayers off for a window, and stakes a bond its lapse hands to the requester
      for (let i = 0; i < 3; i++) {
        const { until } = await r.jobs.claim(r.requestId)
        await r.arena.passTo(until)
      }
    }
  },
  {
    name: 'relayer: double delivery, with the same deal and with a second one',
    by: 'relayer',
    against: 'requester',
    settles: 'Delivered',
    owed: 'Accepted',
    play: async (r) => {
      await r.deliver()
      await r.cheat('the same deal again', r.honestDeal as SignedDeal, r.offer, HONEST_CID)
      const again = { ...r.offer, expiry: r.offer.expiry + 1 }
      await r.cheat('a second deal for the request', await r.deal(again), again, HONEST_CID)
    }
  },
  {
    name: 'relayer: delivery without a settled deal',
    by: 'relayer',
    against: 'requester',
    settles: 'Refunded',
    owed: null,
    play: async (r) => {
      await r.cheat('a signed deal never settled', await r.deal(r.offer, 'unsettled'), r.offer, HONEST_CID)
      await r.cheat('a deal that ended TimeoutSubmit', await r.deal(r.offer, 'TimeoutSubmit'), r.offer, HONEST_CID)
    }
  }
]
