/**
 * The simulation engine: the real role machines of `src/state-machines`, stepped purely, with
 * virtual time, a simulated network and simulated effects (job runs, results fetches, chain
 * transactions). Every message a machine sends is signed and verified by the protocol's own code.
 */
import type { Envelope } from '../src/protocols/messages/envelope.ts'
import type { MessageType } from '../src/protocols/messages/eip712-types.ts'
import type { Deal, JobOffer, ResourceOffer, ResultsChallenged, ResultsSubmitted } from '../src/protocols/messages/schemas.ts'
import { LIMITS } from '../src/protocols/messages/fields.ts'
import {
  DEALS_TOPIC, JOB_OFFERS_TOPIC, RESOURCE_OFFERS_TOPIC,
  type DealOutcome, type DealState, type DomainJson, type InputEvent, type MachineOutput, type SlotTerms
} from '../src/state-machines/index.ts'
import { SETTLE_VERDICT } from '../src/state-machines/deal-lifecycle.ts'
import { gasOf, SimChain, type ChainTx } from './chain.ts'
import { resultsCollateral, type CreatorProfile, type MediatorProfile, type ProviderProfile, type SimConfig } from './config.ts'
import { stepperFor, type RoleStepper, type Stepped } from './engine.ts'
import { EventQueue } from './event-queue.ts'
import type { Identity } from './identities.ts'
import { SimNetwork } from './network.ts'
import { Prng } from './prng.ts'
import { Signer } from './signatures.ts'
import type { Messages } from '../src/protocols/messages/signing.ts'

export type NodeKind = 'solver' | 'mediator' | 'resource-provider' | 'job-creator'

export interface Instance {
  node: SimNode
  stepper: RoleStepper
  /** what the stepper steps: an XState snapshot, or the decider's context */
  state: unknown
  context: object
  /**
   * The deadlines object last armed: a timer is queued for each of its deadlines, once per name and
   * value (a context never changes in place, so it still holds what was armed)
   */
  armedFor: Record<string, number> | undefined
  /** the timers armed for those deadlines, one per name (each queued until it fires or its deadline goes) */
  timers: TimerEvent[] | undefined
  /** a job creator's job, and its id */
  jobOfferId: string | undefined
  job: JobRecord | undefined
  /** the deal a job creator's messages are routed by, once it has one */
  routedDeal: string | undefined
  /** false once a job creator's instance is done and holds no deadline: nothing is routed to it any more */
  routed: boolean
  /** effects under way, whose answers will step the instance */
  pending: number
}

/** A machine's instance as it starts, every field set (one layout for all of them). */
function instanceOf (node: SimNode, stepper: RoleStepper, started: Stepped, job: JobRecord | undefined): Instance {
  return {
    node, stepper, state: started.state, context: started.context, armedFor: undefined, timers: undefined,
    jobOfferId: job?.jobOfferId, job, routedDeal: undefined, routed: true, pending: 0
  }
}

/** The offline windows of a node that is never offline: one list for all of them. */
const ONLINE: ReadonlyArray<readonly [number, number]> = Object.freeze([])

/** What a released instance holds instead of its context: no deadlines. */
const RELEASED: { deadlines: Record<string, number> } = Object.freeze({ deadlines: Object.freeze({}) })

export interface SimNode {
  index: number
  kind: NodeKind
  label: string
  shard: number
  identity: Identity
  offline: ReadonlyArray<readonly [number, number]>
  instance: Instance | null
  jobs: Map<string, Instance>
  byDeal: Map<string, Instance>
  /** compute spent running, checking or re-running jobs */
  cost: bigint
  provider?: ProviderProfile
  creator?: CreatorProfile
  mediator?: MediatorProfile
}

export interface JobRecord {
  n: number
  jobOfferId: string
  creator: number
  createdAt: number
  dealId: string | null
  provider: number | null
  /** the state the job creator's machine ended in */
  creatorOutcome: DealState | null
  doneAt: number | null
  /** the outcome the chain settled */
  outcome: DealOutcome | null
  resultsCid: string | null
  cheated: boolean
}

/** An event of the queue; its time is the queue's (an event holds no copy of it: a run queues millions). */
type SimEvent =
  | { kind: 'job', creator: number, n: number }
  | { kind: 'start', node: number }
  | { kind: 'deliver', to: number, envelope: Envelope, attachments: Envelope[] }
  | TimerEvent
  | { kind: 'effect', inst: Instance, event: InputEvent }
  | { kind: 'tx', tx: ChainTx, reply?: { inst: Instance, effect: string } }
  | { kind: 'sweep' }

/**
 * A kept message: until when, the other key it is kept under (a message named by the output that
 * sent it), and whether the last sweep found a resource offer in no solver's book.
 */
interface Stored { envelope: Envelope, keepUntil: number, alias: string | undefined, unbooked: boolean }

/**
 * A deadline's timer: `due` is the deadline's time after the run's start (a small integer whatever
 * the clock), `slot` where the queue holds it.
 */
interface TimerEvent { kind: 'timer', inst: Instance, name: string, due: number, slot: number }

/**
 * The messages machines attach to others or name as evidence: offers to a proposal; the deal, its
 * results and its job offer to a challenge; a challenge, which the provider forwards and either
 * party posts on chain.
 */
const ATTACHED: ReadonlySet<string> = new Set(['JobOffer', 'ResourceOffer', 'Deal', 'ResultsSubmitted', 'ResultsChallenged'])

/** Messages named later by the id of the output that sent them (`results:<dealId>`, `challenge:<dealId>`), as well as by their own. */
const NAMED_BY_OUTPUT: ReadonlySet<string> = new Set(['ResultsSubmitted', 'ResultsChallenged'])

const SWEEP_EVERY_MS = 60_000

/** The jobs' arrivals, drawn one at a time: the next job's number, the time drawn for the last one, and the first of their places in the queue's order. */
interface Arrivals { creators: SimNode[], meanGapMs: number, at: number, next: number, firstSeq: number }

export class World {
  readonly nodes: SimNode[] = []
  readonly byAddress = new Map<string, SimNode>()
  readonly jobs = new Map<string, JobRecord>()
  readonly jobList: JobRecord[] = []
  readonly chain: SimChain
  readonly network: SimNetwork
  readonly rejections = new Map<string, number>()
  readonly domain: DomainJson = { chainId: '31337', verifyingContract: '0x' + '5e'.repeat(20) }
  /** machine transitions taken */
  steps = 0
  now: number
  private readonly queue = new EventQueue<SimEvent>()
  private readonly steppers: Record<NodeKind, RoleStepper>
  private readonly signer: Signer
  private readonly store = new Map<string, Stored>()
  private readonly verdicts = new Map<string, string>()
  private readonly rng: { arrivals: Prng, jobs: Prng, runs: Prng, secrets: Prng }
  private jobAmounts: { maxPrice: string, maxSolverFee: string, paymentCollateral: string, timeoutCollateral: string } | undefined
  private creatorsDone = 0
  private pendingTx = 0
  private arrivalsLeft: number
  private readonly arrivals: Arrivals
  readonly identities: Identity[]

  /** called after every tenth of the jobs has arrived (for long runs) */
  onProgress: ((arrived: number, total: number) => void) | null = null

  constructor (readonly config: SimConfig, identities: Identity[], messages: Messages) {
    const root = new Prng(`${config.scenario}:${config.seed}`)
    this.rng = { arrivals: root.fork('arrivals'), jobs: root.fork('jobs'), runs: root.fork('runs'), secrets: root.fork('secrets') }
    this.network = new SimNetwork(config.network, root.fork('network'))
    this.signer = new Signer(config.signatures, this.domain, messages)
    const engine = config.engine
    this.steppers = {
      solver: stepperFor('solver', engine, messages),
      mediator: stepperFor('mediator', engine, messages),
      'resource-provider': stepperFor('resource-provider', engine, messages),
      'job-creator': stepperFor('job-creator', engine, messages)
    }
    this.now = config.timing.t0
    const p = config.population
    const total = p.solvers + p.mediators + p.providers + p.creators
    this.identities = identities
    if (this.identities.length < total) throw new RangeError(`need ${total} identities, got ${this.identities.length}`)
    this.arrivalsLeft = config.jobs
    this.buildNodes()
    this.chain = new SimChain(config.timing.blockTimeMs, this.nodes.map(n => n.identity.address), config.economics.deposit)
    this.arrivals = this.schedule()
    this.scheduleArrival()
  }

  /** Runs to the end: every job final, or the horizon. Returns the number of machine steps. */
  run (): number {
    const horizon = this.config.timing.t0 + this.config.timing.horizonMs
    for (;;) {
      const at = this.queue.peekAt()
      if (at === undefined || at > horizon) break
      const e = this.queue.pop() as SimEvent
      this.now = at
      this.handle(e, at)
      if (this.arrivalsLeft === 0 && this.creatorsDone === this.jobList.length && this.pendingTx === 0 &&
          this.chain.deals.size === 0) break
    }
    return this.steps
  }

  shards (): number {
    return Math.max(1, this.config.population.solvers)
  }

  // --- population -----------------------------------------------------------------------------

  private buildNodes (): void {
    const c = this.config
    const p = c.population
    const add = (kind: NodeKind, shard: number): SimNode => {
      const index = this.nodes.length
      const node: SimNode = {
        index, kind, label: kind, shard, identity: this.identities[index] as Identity,
        offline: c.offline.get(index) ?? ONLINE, instance: null, jobs: new Map(), byDeal: new Map(), cost: 0n
      }
      this.nodes.push(node)
      this.byAddress.set(node.identity.address, node)
      return node
    }
    for (let i = 0; i < p.solvers; i++) add('solver', i)
    for (let i = 0; i < p.mediators; i++) {
      const n = add('mediator', i % this.shards())
      n.mediator = c.mediator(n.index)
      n.label = n.mediator.label
    }
    for (let i = 0; i < p.providers; i++) {
      const n = add('resource-provider', i % this.shards())
      n.provider = c.provider(n.index, n.shard)
      n.label = n.provider.label
    }
    for (let i = 0; i < p.creators; i++) {
      const n = add('job-creator', i % this.shards())
      n.creator = c.creator(n.index, n.shard)
      n.label = n.creator.label
    }
  }

  /** The solvers a shard trusts: its own and the next ones. */
  trustedSolvers (shard: number): string[] {
    const s = this.config.population.solvers
    const out: string[] = []
    for (let i = 0; i < Math.min(this.config.solversPerShard, s); i++) out.push((this.nodes[(shard + i) % s] as SimNode).identity.address)
    return out
  }

  /** What a deal pays its mediators: the fee to each of the quorum's k. */
  dealMediatorFee (): bigint {
    return this.config.economics.mediatorFee * BigInt(this.config.quorum)
  }

  /** A provider's timeout collateral: the economics', or more where a quorum deal's fee needs more (it pays the fee when at fault). */
  providerTimeoutCollateral (): bigint {
    const e = this.config.economics
    return e.providerTimeoutCollateral > this.dealMediatorFee() ? e.providerTimeoutCollateral : this.dealMediatorFee()
  }

  /** The mediators a shard trusts, in order of preference: up to three, starting at its own. */
  trustedMediators (shard: number): string[] {
    const { solvers, mediators } = this.config.population
    const out: string[] = []
    for (let i = 0; i < Math.min(3, mediators); i++) out.push((this.nodes[solvers + (shard + i) % mediators] as SimNode).identity.address)
    return out
  }

  private schedule (): Arrivals {
    const t = this.config.timing
    // solvers and mediators first, so that no offer is published before its solver listens
    for (const n of this.nodes) this.queue.pushAt(t.t0 + (n.kind === 'resource-provider' ? 100 + this.rng.arrivals.int(500) : 0), { kind: 'start', node: n.index })
    const creators = this.nodes.filter(n => n.kind === 'job-creator')
    if (creators.length === 0 && this.config.jobs > 0) throw new RangeError('jobs need at least one job creator')
    // the jobs' places among events at the same time are theirs from the start, as if all were queued now
    const firstSeq = this.queue.reserve(this.config.jobs)
    this.queue.pushAt(t.t0 + SWEEP_EVERY_MS, { kind: 'sweep' })
    return { creators, meanGapMs: t.arrivalWindowMs / Math.max(1, this.config.jobs), at: t.t0 + 1_000, next: 0, firstSeq }
  }

  /**
   * Queues the next job's arrival, drawn when the one before arrives: a million arrivals queued at
   * once made every step of the queue deeper, and held an event each for most of the run.
   */
  private scheduleArrival (): void {
    const a = this.arrivals
    if (a.next === this.config.jobs) return
    a.at += this.rng.arrivals.exponential(a.meanGapMs)
    const n = a.next++
    this.queue.pushReserved(Math.round(a.at), a.firstSeq + n, { kind: 'job', creator: this.rng.arrivals.pick(a.creators).index, n })
  }

  // --- the event loop -------------------------------------------------------------------------

  private handle (e: SimEvent, at: number): void {
    switch (e.kind) {
      case 'start': return this.startNode(this.nodes[e.node] as SimNode, at)
      case 'job': {
        // the latest job drawn arrives (not one queued again while its creator was offline): draw the next
        if (e.n === this.arrivals.next - 1) this.scheduleArrival()
        const node = this.nodes[e.creator] as SimNode
        const back = this.offlineUntil(node, at)
        if (back !== null) { this.queue.pushAt(back, e); return }
        this.arrivalsLeft--
        if (this.onProgress !== null && (this.config.jobs - this.arrivalsLeft) % Math.max(1, Math.floor(this.config.jobs / 10)) === 0) {
          this.onProgress(this.config.jobs - this.arrivalsLeft, this.config.jobs)
        }
        return this.newJob(node, e.n, at)
      }
      case 'deliver': {
        const node = this.nodes[e.to] as SimNode
        if (this.offlineUntil(node, at) !== null) { this.count('offline-drop'); return }
        const inst = this.route(node, e.envelope)
        if (inst === null) { this.count('unrouted'); return }
        const event: InputEvent = { type: 'message.received', at: at, envelope: e.envelope as never }
        if (e.attachments.length > 0) event.attachments = e.attachments as never
        return this.apply(inst, event)
      }
      case 'timer': {
        const deadlines = (e.inst.context as { deadlines?: Record<string, number> }).deadlines ?? {}
        const due = e.due + this.config.timing.t0
        if (deadlines[e.name] !== due) return
        const back = this.offlineUntil(e.inst.node, at)
        if (back !== null) { e.slot = this.queue.pushAt(back, e); return }
        return this.apply(e.inst, { type: 'timer.fired', timer: e.name, deadline: due, at } as InputEvent)
      }
      case 'effect': {
        const back = this.offlineUntil(e.inst.node, at)
        if (back !== null) { this.queue.pushAt(back, e); return }
        e.inst.pending--
        return this.apply(e.inst, { ...e.event, at: at })
      }
      case 'tx': {
        this.pendingTx--
        const result = this.chain.apply(e.tx, at)
        this.payGas(e.tx, result.ok)
        if (e.reply !== undefined) this.replySettled(e.reply.inst, e.reply.effect, e.tx.dealId, at)
        if (result.ok && result.settlement !== undefined && result.jobOfferId !== undefined) {
          const job = this.jobs.get(result.jobOfferId)
          if (job !== undefined) job.outcome = result.settlement.outcome
          if (result.settlement.outcome === 'Accepted') this.forgetAccepted(e.tx.dealId, result.jobOfferId)
        }
        return
      }
      case 'sweep': {
        const booked = this.bookedOffers()
        for (const [id, s] of this.store) {
          if (s.keepUntil < at) this.store.delete(id)
          else if (s.envelope.type === 'ResourceOffer') {
            // an offer no solver has held for a sweep's time will never be proposed: no solver takes it again
            if (booked.has(id)) s.unbooked = false
            else if (s.unbooked) this.store.delete(id)
            else s.unbooked = true
          }
        }
        if (this.queue.size > 0) this.queue.pushAt(at + SWEEP_EVERY_MS, e)
      }
    }
  }

  /** The ids of the resource offers in the solvers' books: the only ones a proposal can still attach. */
  private bookedOffers (): Set<string> {
    const ids = new Set<string>()
    for (const n of this.nodes) {
      if (n.kind !== 'solver' || n.instance === null) continue
      for (const o of (n.instance.context as { offers: Array<{ id: string }> }).offers) ids.add(o.id)
    }
    return ids
  }

  /**
   * A deal the chain settled as Accepted can be challenged no more: the messages a challenge carries
   * (the deal, its results) are not attached or forwarded again, and its job offer is kept only as
   * long as a solver may still propose it (until it expires).
   */
  private forgetAccepted (dealId: string, jobOfferId: string): void {
    this.store.delete(dealId)
    const resultsKey = `results:${dealId}`
    const results = this.store.get(resultsKey)
    if (results !== undefined) {
      this.store.delete(resultsKey)
      if (results.alias !== undefined) this.store.delete(results.alias)
    }
    const job = this.store.get(jobOfferId)
    if (job !== undefined && job.envelope.type === 'JobOffer') {
      job.keepUntil = Math.min(job.keepUntil, (job.envelope.message as JobOffer).expiry)
    }
  }

  private offlineUntil (node: SimNode, at: number): number | null {
    const windows = node.offline
    for (let i = 0; i < windows.length; i++) {
      const [from, to] = windows[i] as readonly [number, number]
      if (at >= from && at < to) return to
    }
    return null
  }

  private route (node: SimNode, envelope: Envelope): Instance | null {
    if (node.kind !== 'job-creator') return node.instance
    const m = envelope.message as { jobOfferId?: string, dealId?: string }
    if (m.jobOfferId !== undefined) return node.jobs.get(m.jobOfferId) ?? null
    if (m.dealId !== undefined) return node.byDeal.get(m.dealId) ?? null
    return null
  }

  // --- machines -------------------------------------------------------------------------------

  private startNode (node: SimNode, at: number): void {
    const c = this.config
    const e = c.economics
    const self = node.identity.address
    let input: unknown
    switch (node.kind) {
      case 'solver':
        // a quorum deal pays each of its k mediators the fee, as a node's solver does
        input = { domain: this.domain, self, solverFee: e.solverFee.toString(), mediatorFee: e.mediatorFee.toString(), at }
        break
      case 'mediator':
        input = { domain: this.domain, self, capacity: c.mediatorCapacity, at }
        break
      case 'resource-provider': {
        const terms: SlotTerms = {
          cpu: 4000, gpu: 0, gpuVramMb: 0, ramMb: 8192, diskMb: 65536, maxSubmitWithin: LIMITS.maxWindowMs, modules: [],
          price: e.price.toString(),
          resultsCollateral: resultsCollateral(e).toString(),
          timeoutCollateral: this.providerTimeoutCollateral().toString(),
          trustedMediators: this.trustedMediators(node.shard),
          trustedSolvers: this.trustedSolvers(node.shard),
          multiaddrs: []
        }
        input = { domain: this.domain, self, slots: Array.from({ length: c.slotsPerProvider }, () => terms), offerTtlMs: c.timing.offerTtlMs, at }
        break
      }
      case 'job-creator':
        return
    }
    const stepper = this.steppers[node.kind]
    const started = stepper.start(input)
    const inst = instanceOf(node, stepper, started, undefined)
    node.instance = inst
    this.steps++
    for (const out of started.outputs) this.output(inst, out, at)
    this.arm(inst, at)
  }

  private newJob (node: SimNode, n: number, at: number): void {
    const c = this.config
    const e = c.economics
    const t = c.timing
    const matchDeadline = at + t.matchWindowMs
    // every job offer names the same amounts: one string each, which every offer's payload shares
    const amounts = this.jobAmounts ??= {
      maxPrice: e.price.toString(),
      maxSolverFee: e.solverFee.toString(),
      paymentCollateral: (e.price + e.solverFee + this.dealMediatorFee()).toString(),
      timeoutCollateral: e.creatorTimeoutCollateral.toString()
    }
    const job: JobOffer = {
      author: node.identity.address,
      nonce: String(n),
      expiry: matchDeadline,
      moduleRepo: 'github.com/Lilypad-Tech/lilypad-module-cowsay',
      moduleCommit: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2',
      modulePath: 'lilypad_module.json.tmpl',
      specHash: this.rng.jobs.bytes32(),
      inputs: `{"Message":"job ${n}"}`,
      image: '',
      inputsCid: '',
      urlPins: '',
      cpu: 1000,
      gpu: 0,
      gpuVramMb: 0,
      ramMb: 512,
      diskMb: 1024,
      maxPrice: amounts.maxPrice,
      maxSolverFee: amounts.maxSolverFee,
      paymentCollateral: amounts.paymentCollateral,
      timeoutCollateral: amounts.timeoutCollateral,
      trustedMediators: this.trustedMediators(node.shard),
      quorum: c.quorum,
      trustedSolvers: this.trustedSolvers(node.shard),
      matchDeadline,
      agreeWithin: t.proposalTtlMs,
      submitWithin: t.submitWithinMs,
      judgeWithin: t.judgeWithinMs,
      mediateWithin: t.mediateWithinMs
    }
    const profile = node.creator as CreatorProfile
    const stepper = this.steppers['job-creator']
    const started = stepper.start({ domain: this.domain, job, secret: this.rng.secrets.bytes32(), checkRate: profile.checkRate, at })
    const jobOfferId = (started.context as { jobOfferId: string }).jobOfferId
    const record: JobRecord = {
      n, jobOfferId, creator: node.index, createdAt: at, dealId: null, provider: null, creatorOutcome: null, doneAt: null,
      outcome: null, resultsCid: null, cheated: false
    }
    const inst = instanceOf(node, stepper, started, record)
    node.jobs.set(jobOfferId, inst)
    this.jobs.set(jobOfferId, record)
    this.jobList.push(record)
    this.steps++
    for (const out of started.outputs) this.output(inst, out, at)
    this.arm(inst, at)
  }

  private apply (inst: Instance, event: InputEvent): void {
    const r = inst.stepper.step(inst.state, event)
    inst.state = r.state
    inst.context = r.context
    this.steps++
    if (inst.jobOfferId !== undefined) this.afterCreatorStep(inst, event.at)
    for (const out of r.outputs) this.output(inst, out, event.at)
    this.arm(inst, event.at)
    if (!inst.routed && inst.pending === 0 && isEmpty((inst.context as { deadlines: object }).deadlines)) this.release(inst)
  }

  /** An effect's answer, due at its time: the instance is stepped once more. */
  private effect (at: number, inst: Instance, event: InputEvent): void {
    inst.pending++
    this.queue.pushAt(at, { kind: 'effect', inst, event })
  }

  /**
   * A job creator's instance that nothing can step any more (done, no deadline left, no effect
   * under way): its timers still queued find no deadline, and its context goes (its job's record
   * is kept apart).
   */
  private release (inst: Instance): void {
    inst.state = RELEASED
    inst.context = RELEASED
    inst.armedFor = undefined
    inst.timers = undefined
  }

  private afterCreatorStep (inst: Instance, at: number): void {
    const ctx = inst.context as { dealId: string | null, phase: string, outcome: DealState | null, deadlines: Record<string, number> }
    const job = inst.job as JobRecord
    if (ctx.dealId !== null && ctx.dealId !== inst.routedDeal) {
      inst.node.byDeal.set(ctx.dealId, inst)
      inst.routedDeal = ctx.dealId
    }
    if (ctx.phase !== 'done') return
    if (job.doneAt === null) {
      job.doneAt = at
      job.creatorOutcome = ctx.outcome
      this.creatorsDone++
    }
    // an accepted job keeps its settle guard: until it fires, the creator still watches the chain
    if (isEmpty(ctx.deadlines) && inst.routed) {
      inst.routed = false
      inst.node.jobs.delete(job.jobOfferId)
      if (job.dealId !== null) inst.node.byDeal.delete(job.dealId)
    }
  }

  /**
   * Arms one timer per deadline the machine holds (once per name and value), and takes out of the
   * queue those of deadlines it no longer holds: most deadlines go before their time (a deal's
   * submit, judge and mediate deadlines once it settles), and their timers were most of the queue.
   */
  private arm (inst: Instance, at: number): void {
    const deadlines = (inst.context as { deadlines?: Record<string, number> }).deadlines ?? {}
    // a context never changes in place: the same deadlines object holds the same deadlines, all armed
    const armed = inst.armedFor
    if (deadlines === armed) return
    inst.armedFor = deadlines
    const t0 = this.config.timing.t0
    const before = inst.timers
    const timers: TimerEvent[] = []
    for (const name in deadlines) {
      const due = deadlines[name] as number
      const kept = armed !== undefined && armed[name] === due ? before?.find(t => t.name === name) : undefined
      if (kept !== undefined) { timers.push(kept); continue }
      const timer: TimerEvent = { kind: 'timer', inst, name, due: due - t0, slot: -1 }
      timer.slot = this.queue.pushAt(Math.max(due, at), timer)
      timers.push(timer)
    }
    if (before !== undefined) for (const t of before) if (!timers.includes(t)) this.queue.remove(t.slot, t)
    inst.timers = timers.length > 0 ? timers : undefined
  }

  // --- outputs: messages and effects ----------------------------------------------------------

  private output (inst: Instance, out: MachineOutput, at: number): void {
    switch (out.type) {
      case 'message.send':
      case 'message.publish':
        if (out.messageType === 'ResultsChallenged' && inst.node.creator?.wireChallenges === true) return this.challengeOnWireOnly(inst, out, at)
        return this.sendMessage(inst.node, out, at)
      case 'job.run':
        return this.runJob(inst, out, at)
      case 'results.fetch':
        return this.fetchResults(inst, out, at)
      case 'results.provide':
        return
      // a provider's run ahead of its deal: the simulated run starts with the deal, as it ends the same
      case 'job.warm':
        return
      case 'message.forward':
        return this.forward(inst.node, out, at)
      // the simulated modules all run everywhere: the check before signing passes at once
      case 'job.prepare':
        return this.effect(at, inst, { type: 'job.prepared', at, effect: out.id, ok: true })
      case 'chain.readDeposit':
        return this.effect(at, inst, { type: 'chain.deposit', at, effect: out.id, account: out.account as string, balance: (this.chain.balances.get(out.account as string) ?? 0n).toString(), withdrawing: '0' })
      case 'deal.declined':
        return this.count(`declined:${String(out.reason).split(':')[0]}`)
      case 'chain.watch': {
        const dealId = out.dealId as string
        const record = this.chain.record(dealId)
        // results committed on chain, asked for as such: the provider's signed results its commitment carried
        const committed = out.commitment === true && record.state === 'ResultsSubmitted' ? this.store.get(`results:${dealId}`) : undefined
        if (committed !== undefined) return this.effect(at + this.chain.blockTimeMs, inst, { type: 'chain.committed', at: at + this.chain.blockTimeMs, effect: out.id, dealId, envelope: committed.envelope as never })
        return this.effect(at + this.chain.blockTimeMs, inst, { type: 'chain.observed', at: at + this.chain.blockTimeMs, effect: out.id, dealId, ...record })
      }
      case 'chain.settle':
        if (out.outcome === 'Accepted' && inst.node.provider?.acceptThenClaim === true) return
        // a party that puts a verdict on chain takes the outcome the chain then holds, as a node's effect answers
        return this.transact(at, this.settleTx(inst.node, out), out.id.startsWith(SETTLE_VERDICT) ? { inst, effect: out.id } : undefined)
      case 'chain.claim':
        return this.transact(at, { kind: 'claim', dealId: out.dealId as string, outcome: out.claim as 'TimeoutSubmit', by: inst.node.identity.address })
      case 'chain.challenge':
        if (inst.node.creator?.wireChallenges === true) return
        return this.transact(at, this.challengeTx(inst.node, out))
      case 'chain.takeCase':
        return this.transact(at, { kind: 'takeCase', dealId: out.dealId as string, by: inst.node.identity.address })
      case 'chain.commitResults':
        return this.transact(at, { kind: 'commitResults', dealId: out.dealId as string, resultsCid: out.resultsCid as string, by: inst.node.identity.address })
      case 'input.rejected':
        return this.count(`rejected:${String(out.code)}${out.messageType !== undefined ? `:${String(out.messageType)}` : `:${String(out.eventType)}`}`)
      default:
        return this.count(`unknown-output:${out.type}`)
    }
  }

  /** The sender of a transaction pays for its gas, whether the chain took it or not. */
  private payGas (tx: ChainTx, ok: boolean): void {
    const sender = this.byAddress.get(tx.by)
    if (sender === undefined) return
    const gas = gasOf(tx, ok, sender.kind === 'resource-provider')
    sender.cost += BigInt(Math.round(gas * this.config.economics.gasPrice))
  }

  private transact (at: number, tx: ChainTx, reply?: { inst: Instance, effect: string }): void {
    this.pendingTx++
    this.queue.pushAt(this.chain.inclusion(at), { kind: 'tx', tx, ...(reply === undefined ? {} : { reply }) })
  }

  /** The chain's outcome of a deal, to the party whose transaction was about it: `chain.settled`, or a failure while the deal is open. */
  private replySettled (inst: Instance, effect: string, dealId: string, at: number): void {
    const record = this.chain.record(dealId)
    if (record.state === 'Settled') return this.effect(at, inst, { type: 'chain.settled', at, effect, dealId, outcome: record.outcome })
    this.effect(at, inst, { type: 'effect.failed', at, effect, error: 'the chain did not settle the deal' })
  }

  private sendMessage (node: SimNode, out: MachineOutput, at: number): void {
    const type = out.messageType as MessageType
    const { id, envelope } = this.signer.sign(node.identity, type, out.message as never, (out.signatures as string[] | undefined) ?? [])
    this.keep(id, envelope as Envelope, at)
    if (NAMED_BY_OUTPUT.has(type)) this.keep(out.id, envelope as Envelope, at, id)
    if (type === 'Deal' && envelope.signatures.length === 2) {
      const deal = envelope.message as Deal
      this.chain.agree(id, deal, at)
      const job = this.jobs.get(deal.jobOfferId)
      if (job !== undefined) { job.dealId = id; job.provider = this.byAddress.get(deal.resourceProvider)?.index ?? null }
    }
    if (type === 'MediationVerdict') this.verdicts.set((envelope.message as { dealId: string }).dealId, node.identity.address)
    const attachments = this.attachments(out)
    for (const to of (out.to as string[] | undefined) ?? []) {
      const target = this.byAddress.get(to)
      if (target !== undefined) this.deliver(node, target, envelope as Envelope, attachments, at)
    }
    const topic = out.topic as string | undefined
    if (topic !== undefined) for (const target of this.subscribers(topic, envelope as Envelope)) this.deliver(node, target, envelope as Envelope, [], at)
  }

  private attachments (out: MachineOutput): Envelope[] {
    const attachments: Envelope[] = []
    for (const a of (out.attach as string[] | undefined) ?? []) {
      const found = this.store.get(a)
      if (found !== undefined) attachments.push(found.envelope)
    }
    return attachments
  }

  /** Delivers a signed message kept before, as it was signed (a provider passes a challenge on to its mediator). */
  private forward (node: SimNode, out: MachineOutput, at: number): void {
    const kept = this.store.get(out.message as string)
    if (kept === undefined) return this.count('forward:unknown-message')
    const attachments = this.attachments(out)
    for (const to of (out.to as string[] | undefined) ?? []) {
      const target = this.byAddress.get(to)
      if (target !== undefined) this.deliver(node, target, kept.envelope, attachments, at)
    }
  }

  /**
   * A settlement as the chain takes it: an acceptance names the CID the job creator was sent (the
   * provider's machine settles only an acceptance of the results it sent), a verdict its mediator.
   */
  private settleTx (node: SimNode, out: MachineOutput): ChainTx {
    const dealId = out.dealId as string
    const outcome = out.outcome as DealOutcome
    const by = node.identity.address
    if (outcome === 'Accepted') {
      const jobOfferId = this.chain.deals.get(dealId)?.deal.jobOfferId
      const acceptedCid = jobOfferId === undefined ? undefined : this.jobs.get(jobOfferId)?.resultsCid ?? undefined
      return { kind: 'settle', dealId, outcome, by, ...(acceptedCid === undefined ? {} : { acceptedCid }) }
    }
    // the verdict's author: the mediator's own, or the one whose verdict a party puts on chain
    const verdict = this.store.get(String((out.evidence as string[] | undefined)?.[1] ?? ''))?.envelope
    const mediator = verdict?.type === 'MediationVerdict' ? (verdict.message as { author: string }).author : node.kind === 'mediator' ? by : this.verdicts.get(dealId)
    return { kind: 'settle', dealId, outcome, by, ...(mediator === undefined ? {} : { mediator }) }
  }

  /** A challenge as the chain takes it: with the creator's signed challenge and the provider's signed results its evidence names. */
  private challengeTx (node: SimNode, out: MachineOutput): ChainTx {
    const [, challengeId, resultsId] = out.evidence as string[]
    const challenge = this.store.get(challengeId ?? '')?.envelope
    const results = this.store.get(resultsId ?? '')?.envelope
    return {
      kind: 'challenge',
      dealId: out.dealId as string,
      by: node.identity.address,
      challenge: challenge?.type === 'ResultsChallenged' ? challenge.message as ResultsChallenged : null,
      results: results?.type === 'ResultsSubmitted' ? results.message as ResultsSubmitted : null
    }
  }

  /**
   * A wire challenger's challenge reaches the provider only, and neither the mediator nor the chain
   * hears of it from the creator; once the submit deadline has passed, the creator claims
   * TimeoutSubmit, as if no results had come.
   */
  private challengeOnWireOnly (inst: Instance, out: MachineOutput, at: number): void {
    const dealId = (out.message as { dealId: string }).dealId
    const deal = this.chain.deals.get(dealId)?.deal
    if (deal === undefined) return
    this.sendMessage(inst.node, { ...out, to: [deal.resourceProvider] }, at)
    this.transact(Math.max(at, deal.submitDeadline), { kind: 'claim', dealId, outcome: 'TimeoutSubmit', by: inst.node.identity.address })
  }

  /** Gossip reaches the solvers a message concerns (others would only drop it). */
  private subscribers (topic: string, envelope: Envelope): SimNode[] {
    let addresses: readonly string[] = []
    if (topic === JOB_OFFERS_TOPIC) addresses = (envelope.message as JobOffer).trustedSolvers
    else if (topic === RESOURCE_OFFERS_TOPIC) addresses = (envelope.message as ResourceOffer).trustedSolvers
    else if (topic === DEALS_TOPIC) addresses = [(envelope.message as Deal).solver]
    const out: SimNode[] = []
    for (const a of addresses) {
      const n = this.byAddress.get(a)
      if (n !== undefined && n.kind === 'solver') out.push(n)
    }
    return out
  }

  private deliver (from: SimNode, to: SimNode, envelope: Envelope, attachments: Envelope[], at: number): void {
    const delay = this.network.transit(from.index, to.index, at)
    if (delay === null) return
    this.queue.pushAt(at + delay, { kind: 'deliver', to: to.index, envelope, attachments })
  }

  /**
   * Keeps a message that may be attached to a later one, while it may: offers until they expire
   * (a solver proposes only live ones), what a challenge carries until the deal's judge deadline, and
   * a challenge until it expires.
   */
  private keep (id: string, envelope: Envelope, at: number, alias?: string): void {
    if (!ATTACHED.has(envelope.type)) return
    const m = envelope.message as { expiry?: number, judgeDeadline?: number, matchDeadline?: number, submitWithin?: number, judgeWithin?: number }
    let keepUntil = m.judgeDeadline ?? m.expiry ?? at
    if (envelope.type === 'JobOffer') keepUntil = (m.matchDeadline ?? at) + this.config.timing.proposalTtlMs + (m.submitWithin ?? 0) + (m.judgeWithin ?? 0)
    const old = this.store.get(id)
    if (old !== undefined && old.envelope.signatures.length > envelope.signatures.length) return
    this.store.set(id, { envelope, keepUntil, alias, unbooked: false })
  }

  private runJob (inst: Instance, out: MachineOutput, at: number): void {
    const node = inst.node
    const dealId = out.dealId as string
    const chainDeal = this.chain.deals.get(dealId)
    const jobOfferId = chainDeal?.deal.jobOfferId ?? inst.jobOfferId ?? ''
    const job = this.jobs.get(jobOfferId)
    const honest = honestCid(jobOfferId)
    const t = this.config.timing
    const duration = Math.round(t.minJobMs + this.rng.runs.exponential(t.meanJobExtraMs))
    let cid = honest
    let took = duration
    const cost = this.config.economics.computeCost
    if (node.kind === 'resource-provider') {
      const profile = node.provider as ProviderProfile
      if (profile.lazy) return
      if (profile.cheatRate > 0 && this.rng.runs.chance(profile.cheatRate)) {
        cid = fakeCid(jobOfferId, node.identity.address)
        took = 1_000
        if (job !== undefined) job.cheated = true
      } else {
        node.cost += cost
      }
      if (profile.acceptThenClaim || profile.equivocates) this.strategicRun(node, dealId, cid, at + took)
      // an equivocator ran the job for the CID it commits, and tells the creator another one
      if (profile.equivocates) {
        cid = fakeCid(jobOfferId, node.identity.address)
        if (job !== undefined) job.cheated = true
      }
      if (job !== undefined) job.resultsCid = cid
    } else if (node.kind === 'job-creator') {
      if ((node.creator as CreatorProfile).challengesHonest) {
        cid = fakeCid(jobOfferId, node.identity.address)
      } else {
        node.cost += cost
      }
    } else if (node.kind === 'mediator') {
      // a silent mediator took the case (its machine did) and never answers
      if ((node.mediator as MediatorProfile).silent === true) return
      const provider = chainDeal === undefined ? undefined : this.byAddress.get(chainDeal.deal.resourceProvider)
      if (provider !== undefined && (node.mediator as MediatorProfile).colludesWith.has(provider.index) && job?.resultsCid != null) {
        cid = job.resultsCid
        took = 1_000
      } else {
        node.cost += cost
      }
    }
    this.effect(at + took, inst, { type: 'job.finished', at: at + took, effect: out.id, resultsCid: cid, exitCode: 0, cpuMs: took, durationMs: took })
  }

  /**
   * What a strategic provider does on chain with results it has, beside its machine: commits them at
   * once; one that accepts and claims also claims TimeoutJudge once the judge deadline has passed.
   */
  private strategicRun (node: SimNode, dealId: string, resultsCid: string, finished: number): void {
    const by = node.identity.address
    this.transact(finished, { kind: 'commitResults', dealId, resultsCid, by })
    const judgeDeadline = this.chain.deals.get(dealId)?.deal.judgeDeadline
    if ((node.provider as ProviderProfile).acceptThenClaim && judgeDeadline !== undefined) {
      this.transact(Math.max(finished, judgeDeadline), { kind: 'claim', dealId, outcome: 'TimeoutJudge', by })
    }
  }

  private fetchResults (inst: Instance, out: MachineOutput, at: number): void {
    const from = this.byAddress.get(out.from as string)
    const arrives = at + this.config.timing.fetchMs
    const ok = from !== undefined && this.offlineUntil(from, arrives) === null && this.network.connected(inst.node.index, from.index, at)
    this.effect(arrives, inst, { type: 'results.fetched', at: arrives, effect: out.id, ok })
  }

  private count (what: string): void {
    this.rejections.set(what, (this.rejections.get(what) ?? 0) + 1)
  }
}

function isEmpty (record: object): boolean {
  for (const _ in record) return false
  return true
}

/** The CID every honest run of a job produces: derived from the job alone. */
export function honestCid (jobOfferId: string): string {
  return 'bafk' + jobOfferId.slice(2, 58)
}

/** What a party that did not run the job claims: derived from the job and who made it up. */
export function fakeCid (jobOfferId: string, who: string): string {
  return 'bafx' + jobOfferId.slice(2, 42) + who.slice(2, 18).toLowerCase()
}
