import { randomBytes } from 'node:crypto'
import type { Wallet } from 'ethers'
import type { JobOffer } from '../../protocols/messages/schemas.ts'
import type { Envelope } from '../../protocols/messages/envelope.ts'
import { messageId } from '../../protocols/messages/signing.ts'
import { machines } from '../../state-machines/index.ts'
import { toDomain, type DomainJson } from '../../state-machines/common.ts'
import type { ResourceProviderInput, SlotTerms } from '../../state-machines/resource-provider.machine.ts'
import type { BookLimits, SolverInput } from '../../state-machines/solver.machine.ts'
import type { MediatorInput } from '../../state-machines/mediator.machine.ts'
import type { JobCreatorContext, JobCreatorInput } from '../../state-machines/job-creator.machine.ts'
import { INPUT_REJECTED } from '../../state-machines/rejection.ts'
import type { MachineOutput } from '../../state-machines/contract.ts'
import type { OutputType } from '../../state-machines/io.ts'
import type { EventLog } from '../eventlog/event-log.ts'
import { ActorRuntime, RuntimeStoppedError, type Change, type EffectHandler, type EffectHandlers } from '../runtime/actor-runtime.ts'
import type { Clock } from '../runtime/clock.ts'
import { systemClock } from '../runtime/clock.ts'
import { MessageStore } from './message-store.ts'
import { messageEvent, RoleStream, routeDelivery } from './router.ts'
import type { Delivery, MessageTransport } from './transport.ts'
import { messageEffects, signedBeside } from './effects/messages.ts'
import { OpenDeals } from './open-deals.ts'
import { jobEffects, type JobRunner } from './effects/jobs.ts'
import { resultsEffects, type ResultsFetcher } from './effects/results.ts'
import { chainEffects, type ChainOutput, type SettlementCalls } from './effects/chain.ts'
import type { Service } from '../../support/lifecycle.ts'

import type { Role } from './roles.ts'
export { ROLES, type Role } from './roles.ts'

export interface RoleHostOptions {
  roles: readonly Role[]
  domain: DomainJson
  resourceProvider?: { slots: SlotTerms[], offerTtlMs?: number, commitMarginMs?: number }
  solver?: { solverFee: string, mediatorFee: string, batchDelayMs?: number, book?: Partial<BookLimits> }
  mediator?: { capacity: number, fee?: string, multiaddrs?: string[] }
  snapshotEvery?: number
  /** how long a stored message is kept past the last deadline of any deal it can be part of (default 24 h) */
  messageRetentionMs?: number
}

const DEFAULT_MESSAGE_RETENTION_MS = 24 * 3600_000
/** how often stored messages past their retention are collected */
const COLLECT_EVERY_MS = 3600_000

export interface RoleHostModules {
  log: EventLog
  wallet: Pick<Wallet, 'signingKey' | 'address'>
  transport: MessageTransport
  runner: JobRunner
  fetcher: ResultsFetcher
  settlement?: SettlementCalls
  clock?: Clock
  /** what the node does with inputs its machines rejected (peer scoring, logs) */
  onRejected?: (stream: string, output: MachineOutput) => void
  /** a deal the provider walked away from before signing, and why */
  onDeclined?: (stream: string, output: MachineOutput) => void
  onError?: (err: Error) => void
}

export interface JobOptions {
  /** probability of re-running the job to check the provider's results */
  checkRate: number
}

/**
 * A step that signs a message to a party or acts on chain moves a deal: the log checkpoints its head
 * after it. (Offers published are not deals, and come often.)
 */
function bindsTheNode (outputs: readonly MachineOutput[]): boolean {
  return outputs.some(o => o.type === 'message.send' || o.type.startsWith('chain.'))
}

/**
 * A node's role actors: one runtime over the node's log running a machine per role (and one per
 * job it created), the effects that connect those machines to the mesh, the executor and the
 * chain, and the routing of incoming messages to the machines they concern.
 */
export class RoleHost implements Service {
  private readonly dealToJob = new Map<string, string>()
  private readonly store: MessageStore
  private receiving: Promise<unknown> = Promise.resolve()
  private untakenCount = 0
  private collector: NodeJS.Timeout | undefined

  private constructor (
    readonly runtime: ActorRuntime,
    private readonly options: RoleHostOptions,
    private readonly modules: RoleHostModules,
    store: MessageStore,
    /** the agreed deals this node has seen: what they lock counts in every deposit check */
    readonly openDeals: OpenDeals
  ) {
    this.store = store
  }

  get address (): string {
    return this.modules.wallet.address
  }

  static async start (options: RoleHostOptions, modules: RoleHostModules): Promise<RoleHost> {
    const store = new MessageStore(modules.log.bucket('messages'))
    const domain = toDomain(options.domain)
    const clock = modules.clock ?? systemClock
    const openDeals = new OpenDeals(modules.wallet.address, domain, () => clock.now())
    const unavailable = (what: string): EffectHandler => async () => { throw new Error(`this node has no ${what}`) }
    const noChain = unavailable('chain connection')
    const settlementEffects: EffectHandlers<ChainOutput> = modules.settlement === undefined
      ? { 'chain.settle': noChain, 'chain.claim': noChain, 'chain.challenge': noChain, 'chain.takeCase': noChain, 'chain.commitResults': noChain, 'chain.watch': noChain, 'chain.readDeposit': noChain }
      : chainEffects({ domain, store, settlement: modules.settlement, openDeals })
    let host: RoleHost | undefined = undefined
    // every output type of every machine has its handler here, or this does not compile
    const effects: EffectHandlers<OutputType> = {
      ...messageEffects({ domain, wallet: modules.wallet, store, transport: modules.transport }),
      ...jobEffects(modules.runner),
      ...resultsEffects(modules.fetcher),
      ...settlementEffects,
      [INPUT_REJECTED]: async (output, { stream }) => { modules.onRejected?.(stream, output) },
      'deal.declined': async (output, { stream }) => { modules.onDeclined?.(stream, output) }
    }
    const runtime = await ActorRuntime.start({ snapshotEvery: options.snapshotEvery, checkpointAfter: bindsTheNode }, {
      log: modules.log, definitions: machines, effects, clock: modules.clock, onError: modules.onError,
      beside: signedBeside({ domain, wallet: modules.wallet, store })
    })
    host = new RoleHost(runtime, options, modules, store, openDeals)
    for (const stream of runtime.streams()) host.indexJob(stream)
    runtime.subscribe((change) => host!.indexJob(change.stream))
    modules.transport.onDelivery((delivery) => {
      // a message that arrives while the node stops is not taken, like one sent to a node that is down
      host!.receive(delivery).catch((err: Error) => { if (!(err instanceof RuntimeStoppedError)) modules.onError?.(err) })
    })
    await host.spawnRoles()
    host.collectLater()
    return host
  }

  /** Collects stored messages past their retention now (in the background), then every hour. */
  private collectLater (): void {
    const collect = (): void => {
      this.store.collect(this.now(), this.options.messageRetentionMs ?? DEFAULT_MESSAGE_RETENTION_MS)
        .catch((err: Error) => { this.modules.onError?.(err) })
    }
    collect()
    this.collector = setInterval(collect, COLLECT_EVERY_MS)
    this.collector.unref()
  }

  private now (): number {
    return (this.modules.clock ?? systemClock).now()
  }

  private async spawnRoles (): Promise<void> {
    const { roles, domain } = this.options
    const self = this.address
    const at = this.now()
    const has = (stream: string): boolean => this.runtime.snapshot(stream) !== undefined
    if (roles.includes('resource-provider') && !has(RoleStream.resourceProvider)) {
      const rp = this.options.resourceProvider
      if (rp === undefined || rp.slots.length === 0) throw new Error('a resource provider needs at least one slot')
      const input: ResourceProviderInput = { domain, self, slots: rp.slots, offerTtlMs: rp.offerTtlMs, commitMarginMs: rp.commitMarginMs, at }
      await this.runtime.spawn(RoleStream.resourceProvider, 'resource-provider', input as never)
    }
    if (roles.includes('solver') && !has(RoleStream.solver)) {
      const s = this.options.solver ?? { solverFee: '0', mediatorFee: '0' }
      const input: SolverInput = { domain, self, ...s, at }
      await this.runtime.spawn(RoleStream.solver, 'solver', input as never)
    }
    if (roles.includes('mediator') && !has(RoleStream.mediator)) {
      const { fee, multiaddrs } = this.options.mediator ?? {}
      const input: MediatorInput = { domain, self, capacity: this.options.mediator?.capacity ?? 4, ...(fee === undefined ? {} : { fee }), ...(multiaddrs === undefined ? {} : { multiaddrs }), at }
      await this.runtime.spawn(RoleStream.mediator, 'mediator', input as never)
    }
  }

  /**
   * Applies a message from the mesh in every stream it concerns, and returns the streams that took
   * it. A stream that takes it logs it, with the signed messages it carries stored in the same batch;
   * a message no stream takes (not theirs, or refused) leaves nothing behind: anyone can send a node
   * messages. Deliveries reach the machines in the order they arrived, one after another, so a deal
   * handed over just after its proposal cannot overtake it.
   */
  async receive (delivery: Delivery): Promise<string[]> {
    const taken = this.receiving.then(() => this.take(delivery))
    this.receiving = taken.catch(() => undefined)
    return await taken
  }

  private async take (delivery: Delivery): Promise<string[]> {
    const envelopes = [delivery.envelope, ...delivery.attachments]
    for (const envelope of envelopes) this.openDeals.seen(envelope)
    const streams = routeDelivery(delivery, {
      self: this.address,
      has: (stream) => this.runtime.snapshot(stream) !== undefined,
      jobOfDeal: (dealId) => this.dealToJob.get(dealId)
    })
    if (streams.length === 0) return []
    const domain = toDomain(this.options.domain)
    const writes = (await Promise.all(envelopes.map(envelope => this.store.writes(messageId(domain, envelope.type, envelope.message as never), envelope)))).flat()
    const taken: string[] = []
    for (const stream of streams) {
      const change = await this.runtime.offer(stream, messageEvent(delivery) as never, writes)
      if (change.records.length > 0) taken.push(stream)
      else this.untakenCount++
    }
    return taken
  }

  /** How many messages a stream did not take (refused, or none of its business): counted, not logged. */
  get untaken (): number {
    return this.untakenCount
  }

  /**
   * Publishes a job offer (its author is this node) and follows it to the end; returns its stream.
   * The creator's secret, which decides whether results get checked, is drawn here.
   */
  async submitJob (job: JobOffer, options: JobOptions): Promise<string> {
    if (!this.options.roles.includes('job-creator')) throw new Error('this node does not run the job-creator role')
    const id = messageId(toDomain(this.options.domain), 'JobOffer', job)
    const stream = RoleStream.job(id)
    const input: JobCreatorInput = {
      domain: this.options.domain,
      job,
      secret: `0x${randomBytes(32).toString('hex')}`,
      checkRate: options.checkRate,
      at: this.now()
    }
    await this.runtime.spawn(stream, 'job-creator', input as never)
    return stream
  }

  /** Tells the provider's machine the mediators the node trusts now (its offers name them). */
  async trustMediators (mediators: string[]): Promise<void> {
    if (!this.options.roles.includes('resource-provider')) return
    await this.runtime.send(RoleStream.resourceProvider, { type: 'mediators.trusted', mediators } as never)
  }

  /** A signed message this node sent or received, by its id (what its machines' evidence names). */
  async signedMessage (id: string): Promise<Envelope | undefined> {
    return await this.store.get(id)
  }

  job (stream: string): JobCreatorContext | undefined {
    return this.runtime.snapshot(stream)?.context as JobCreatorContext | undefined
  }

  /** Calls `listener` with the job's context after every change, until it returns true. */
  watchJob (stream: string, listener: (context: JobCreatorContext) => boolean | void): () => void {
    const current = this.job(stream)
    if (current !== undefined && listener(current) === true) return () => {}
    const stop = this.runtime.subscribe((change: Change) => {
      if (change.stream !== stream) return
      if (listener(change.snapshot.context as JobCreatorContext) === true) stop()
    })
    return stop
  }

  async stop (): Promise<void> {
    clearInterval(this.collector)
    await this.runtime.stop()
  }

  private indexJob (stream: string): void {
    if (!stream.startsWith('job:')) return
    const dealId = (this.runtime.snapshot(stream)?.context as JobCreatorContext | undefined)?.dealId
    if (typeof dealId === 'string') this.dealToJob.set(dealId, stream)
  }
}
