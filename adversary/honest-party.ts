/**
 * An honest party as a node runs it: its real machine, its real message and chain effects (signing,
 * a LevelDB message store, transactions on the arena's chain), and its timers fired by the chain's
 * clock. Only the world outside is scripted: what a job run and a results fetch come back with, and
 * where a sent message goes (the game routes it).
 */
import { join } from 'node:path'
import type { AnyStateMachine, SnapshotFrom } from 'xstate'
import { chainEffects } from '../src/actors/roles/effects/chain.ts'
import { messageEffects, signedBeside } from '../src/actors/roles/effects/messages.ts'
import type { SideWrite } from '../src/actors/eventlog/event-log.ts'
import { MessageStore } from '../src/actors/roles/message-store.ts'
import { OpenDeals } from '../src/actors/roles/open-deals.ts'
import type { Delivery, MessageTransport } from '../src/actors/roles/transport.ts'
import { EventLog } from '../src/actors/eventlog/event-log.ts'
import type { EffectHandler, NewInput } from '../src/actors/runtime/actor-runtime.ts'
import type { Envelope } from '../src/protocols/messages/envelope.ts'
import { messageId } from '../src/protocols/messages/signing.ts'
import { toDomain } from '../src/state-machines/common.ts'
import type { InputEvent, MachineOutput } from '../src/state-machines/contract.ts'
import { start, step } from '../src/state-machines/step.ts'
import type { Arena, Party } from './arena.ts'

/** A message on its way: to a party's address, or published on a topic. */
export interface Sent extends Delivery {
  from: string
  to?: string
}

/** What the world answers the effects that leave the machine and the chain (runs and fetches). */
export interface World {
  /** the check before signing: can the job run here? */
  prepare: (output: MachineOutput) => { ok: boolean, failure?: string }
  run: (output: MachineOutput) => { resultsCid: string, exitCode?: number }
  fetched: (output: MachineOutput) => boolean
}

export class HonestParty<M extends AnyStateMachine = AnyStateMachine> {
  readonly address: string
  private snapshot: SnapshotFrom<M>
  private readonly fired = new Set<string>()

  private constructor (
    readonly role: Party,
    private readonly machine: M,
    private readonly arena: Arena,
    private readonly log: EventLog,
    private readonly store: MessageStore,
    private readonly effects: Record<string, EffectHandler>,
    private readonly world: World,
    private readonly signBeside: (outputs: readonly MachineOutput[]) => Promise<SideWrite[]>,
    private readonly openDeals: OpenDeals,
    snapshot: SnapshotFrom<M>
  ) {
    this.address = arena.wallets[role].address
    this.snapshot = snapshot
  }

  static async join<M extends AnyStateMachine> (arena: Arena, role: Party, machine: M, input: object, world: World, network: Sent[]): Promise<HonestParty<M>> {
    const log = await EventLog.open(join(arena.dir, `${role}-${Date.now()}-${Math.random().toString(16).slice(2)}`))
    const store = new MessageStore(log.bucket('messages'))
    const domain = toDomain(arena.domain)
    const address = arena.wallets[role].address
    const transport: MessageTransport = {
      address,
      publish: async (topic, delivery) => { network.push({ ...delivery, topic, from: address }) },
      send: async (to, delivery) => { network.push({ ...delivery, to, from: address }) },
      onDelivery: () => {}
    }
    const openDeals = new OpenDeals(address, domain)
    const effects = {
      ...messageEffects({ domain, wallet: arena.wallets[role], store, transport, retryDelaysMs: [1] }),
      // accepted deals settle in batches, as a node settles them
      ...chainEffects({ domain, store, settlement: arena.clients[role], openDeals, batchWindowMs: 20, retryDelaysMs: [], settledPollMs: 1, settledWaitMs: 0 })
    }
    const first = start(machine, { ...input, domain: arena.domain, self: address, at: await arena.now() })
    const beside = signedBeside({ domain, wallet: arena.wallets[role], store })
    const party = new HonestParty(role, machine, arena, log, store, effects, world, beside, openDeals, first.snapshot)
    await party.carryOut(first.outputs)
    return party
  }

  get context (): Record<string, unknown> {
    return (this.snapshot as { context: Record<string, unknown> }).context
  }

  /** A message reaches the node: it is stored as the node stores it (an agreed deal counted as open), then stepped. */
  async receive (delivery: Delivery): Promise<void> {
    await this.gossip(delivery.envelope, ...delivery.attachments)
    await this.input({ type: 'message.received', envelope: delivery.envelope as never, attachments: delivery.attachments as never })
  }

  /** Messages the mesh brings that concern none of the node's machines (another pair's agreed deal): stored and counted only. */
  async gossip (...envelopes: Envelope[]): Promise<void> {
    const domain = toDomain(this.arena.domain)
    for (const envelope of envelopes) {
      await this.store.put(messageId(domain, envelope.type, envelope.message as never), envelope)
      this.openDeals.seen(envelope)
    }
  }

  /** The earliest deadline the machine holds that has not fired (Infinity when none). */
  nextDeadline (): number {
    const deadlines = (this.context.deadlines ?? {}) as Record<string, number>
    return Math.min(...Object.entries(deadlines).filter(([name, at]) => !this.fired.has(`${name}@${at}`)).map(([, at]) => at))
  }

  /** Fires every deadline the machine holds that the chain's clock has passed, earliest first. */
  async fireDue (): Promise<number> {
    let count = 0
    for (;;) {
      const now = await this.arena.now()
      const deadlines = (this.context.deadlines ?? {}) as Record<string, number>
      const due = Object.entries(deadlines)
        .filter(([name, at]) => at < now && !this.fired.has(`${name}@${at}`))
        .sort((a, b) => a[1] - b[1])[0]
      if (due === undefined) return count
      this.fired.add(`${due[0]}@${due[1]}`)
      await this.input({ type: 'timer.fired', timer: due[0], deadline: due[1] })
      count++
    }
  }

  async input (event: NewInput): Promise<void> {
    const at = event.at ?? await this.arena.now()
    const r = step(this.machine, this.snapshot, { ...event, at } as InputEvent)
    this.snapshot = r.snapshot
    await this.carryOut(r.outputs)
  }

  private async carryOut (outputs: MachineOutput[]): Promise<void> {
    const signal = new AbortController().signal
    // its own messages are signed and stored with the outputs that send them, as a node's runtime does
    const writes = await this.signBeside(outputs)
    await this.log.bucket('messages').batch(writes.map(w => ({ type: 'put' as const, key: w.key, value: w.value })))
    for (const output of outputs) {
      const fed = await this.effect(output, signal)
      for (const input of fed) await this.input({ ...input, effect: output.id })
    }
  }

  private async effect (output: MachineOutput, signal: AbortSignal): Promise<NewInput[]> {
    switch (output.type) {
      // a refused input changed nothing; the verdict is the deposit, not the machine's refusals
      case 'input.rejected': return []
      case 'job.prepare': return [{ type: 'job.prepared', ...this.world.prepare(output) }]
      case 'job.run': {
        const run = this.world.run(output)
        return [{ type: 'job.finished', resultsCid: run.resultsCid, exitCode: run.exitCode ?? 0, cpuMs: 1, durationMs: 1 }]
      }
      case 'results.fetch': return [{ type: 'results.fetched', ok: this.world.fetched(output) }]
      // the scripted world's runs take no time: one started ahead of its deal (job.warm) saves nothing
      case 'job.warm':
      case 'results.provide':
      case 'deal.declined':
        return []
    }
    const handler = this.effects[output.type]
    if (handler === undefined) throw new Error(`${this.role}: no effect handler for ${output.type}`)
    try {
      const result = await handler(output, { stream: this.role, signal })
      return result === undefined ? [] : Array.isArray(result) ? result : [result]
    } catch (err) {
      // a node logs a failed effect and steps it; the machine decides what it means
      return [{ type: 'effect.failed', error: (err as Error).message }]
    }
  }

  /** A signed message this party sent or received, by message id or output id. */
  async message (id: string): Promise<Envelope> {
    return await this.store.require(id)
  }

  async close (): Promise<void> {
    await this.log.close()
  }
}
