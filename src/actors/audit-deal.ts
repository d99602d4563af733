/**
 * One deal as a node's log holds it. A deal lives in different places in each role's log: a job
 * creator's stream is named after its job offer (`job:<jobOfferId>`) and may sign several deals
 * before one binds; a provider keeps every deal in its one stream (`deals`, then `endedDeals`,
 * keyed by deal id, its timers named after slots); a mediator keeps `mediations` keyed by deal id;
 * a solver knows its proposals and the agreed deals gossiped to it. The index below follows the
 * audit's replay of a log and notes, for every record, the ids it is about (deals, job offers,
 * resource offers, proposals), with the machines' contexts before and after each input where the
 * record alone does not say (a provider's `submit:0` timer is about the deal on slot 0 then). A
 * second, short read of the log then gathers one deal's history: the messages signed and received
 * about it, each decision (the input and the outputs it caused), the deadlines armed, the chain
 * transactions asked for and what came of them, and where each party it holds left the deal.
 */
import type { EventLog, GenesisData } from './eventlog/event-log.ts'
import { RecordType } from './eventlog/event-log.ts'
import type { LogRecord } from './eventlog/record.ts'
import { canonicalJson } from './eventlog/canonical-json.ts'
import { ActorRecord, outputKey, type AckData, type InputData, type OpenData, type OutputData } from './runtime/records.ts'
import type { ObservedStep } from './audit.ts'
import { nodeMessages } from '../protocols/messages/signing.ts'
import type { Envelope } from '../protocols/messages/envelope.ts'
import type { MessageType } from '../protocols/messages/eip712-types.ts'
import type { Deal } from '../protocols/messages/schemas.ts'
import { toDomain, type DomainJson } from '../state-machines/common.ts'
import type { Deadlines, InputEvent, MachineOutput } from '../state-machines/contract.ts'
import { isDealOutcome, type DealOutcome } from '../state-machines/deal-states.ts'
import type { JobCreatorContext } from '../state-machines/job-creator.machine.ts'
import type { EndedDeal, ResourceProviderContext } from '../state-machines/resource-provider.machine.ts'
import type { MediatorContext } from '../state-machines/mediator.machine.ts'

const HEX_ID = /0x[0-9a-fA-F]{64}/g
const HEX_ID_ONLY = /^0x[0-9a-fA-F]{64}$/

/** The messages that are known by their own id (a deal's id is the id of its Deal); the rest name their deal. */
const SELF_NAMED: ReadonlySet<string> = new Set(['JobOffer', 'ResourceOffer', 'MatchProposal', 'Deal'])
const SIGNED_OUTPUTS: ReadonlySet<string> = new Set(['message.publish', 'message.send'])

export type PartyRole = 'job-creator' | 'resource-provider' | 'mediator' | 'solver'

/** Where one party, as this log holds it, left the deal. */
export interface PartyView {
  role: PartyRole
  stream: string
  /** a deal state, the job creator's phase, or the mediation's state */
  state: string
  /** the outcome it recorded, once the deal ended for it */
  outcome: DealOutcome | null
  resultsCid: string | null
  /** the mediator's verdict: the outcome it signed for, whether or not the deal settled so (a late verdict loses to a timeout claim) */
  verdict?: 'MediationAccepted' | 'MediationRejected'
}

export interface DealSummary {
  dealId: string
  jobOfferId: string | null
  /** the terms, from a signed Deal the log holds, else from a machine's context */
  terms: Deal | null
  /** the EIP-712 domain the deal was made under */
  domain: DomainJson | null
  parties: PartyView[]
}

export interface OutputEntry {
  seq: number
  type: string
  id: string
  /** what the output asks, in a few words */
  summary: string
  ack?: { seq: number, error?: string }
}

export interface Decision {
  seq: number
  at: number
  stream: string
  /** the input (or the opening of the stream) that was decided on */
  input: string
  /** the outputs it caused that are about the deal */
  outputs: OutputEntry[]
  /** how many outputs it caused about other things (a provider's next offer, another proposal of the round) */
  otherOutputs: number
  /** deadlines this decision armed or moved, about the deal */
  armed: Array<{ name: string, at: number }>
}

export type MessageHow = 'received' | 'attached' | 'signed' | 'forwarded' | 'read from chain'

export interface SignedMessage {
  /** the record that holds it (received), or the output that sent it (signed) */
  seq: number
  how: MessageHow
  type: string
  /** its EIP-712 id */
  id: string | null
  /** the envelope, signatures included: as the record holds it, or as kept beside the log */
  envelope: Envelope | null
  /** the key it is kept under in the log's messages store, for a message this node signed or forwarded */
  kept?: string
}

export interface ArmedDeadline {
  seq: number
  stream: string
  name: string
  at: number
  /** the record of its timer.fired input, when it fired */
  fired: number | null
}

export interface ChainRequest {
  seq: number
  type: string
  id: string
  summary: string
  ack?: { seq: number, error?: string }
  /** what came back: the inputs that carried the output's result */
  results: Array<{ seq: number, summary: string }>
}

/** A message kept beside the log that the log does not bear out. */
export interface DealProblem {
  seq: number
  code: 'ERR_KEPT_MISSING' | 'ERR_KEPT_DECODE' | 'ERR_KEPT_DIFFERS' | 'ERR_KEPT_SIGNATURE' | 'ERR_KEPT_COPY'
  reason: string
}

export interface DealTrace {
  /** the id asked for */
  query: string
  /** what it named in this log: a deal, a job offer (with the deals made for it), or another id the log holds records about */
  kind: 'deal' | 'job' | 'other'
  deals: DealSummary[]
  decisions: Decision[]
  messages: SignedMessage[]
  deadlines: ArmedDeadline[]
  chain: ChainRequest[]
  problems: DealProblem[]
  /** the records about the deal, in log order */
  records: LogRecord[]
}

/** Reads the messages kept beside the log: `out:<output id>` for a node's own, `id:<message id>` for every one. */
export type KeptMessages = (key: string) => Promise<string | undefined>

interface Cause {
  seq: number
  stream: string
  subjects: Set<string>
  /** subjects of its outputs the cause was listed under */
  linked: Set<string>
}

type Record_ = Record<string, unknown>

function isObject (value: unknown): value is Record_ {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isEnvelope (value: unknown): value is Envelope {
  return isObject(value) && typeof value.type === 'string' && isObject(value.message) && Array.isArray(value.signatures)
}

function addIds (into: Set<string>, text: unknown): void {
  if (typeof text !== 'string') return
  for (const id of text.match(HEX_ID) ?? []) into.add(id.toLowerCase())
}

/** `0x1234…abcd` for every id in a text. */
export function shortIds (text: string): string {
  return text.replace(HEX_ID, id => `${id.slice(0, 6)}…${id.slice(-4)}`)
}

/**
 * Follows an audit's replay (pass its `observe` to `auditLog`) and indexes what every record is
 * about; `trace` then reads one deal's history back from the log.
 */
export class DealIndex {
  /** the node that signs the log, from its genesis record */
  node: string | null = null
  /** id → the records about it, in log order */
  private readonly subjects = new Map<string, number[]>()
  /** deal id → its terms */
  private readonly terms = new Map<string, { deal: Deal, signed: boolean }>()
  private readonly domains = new Map<string, DomainJson>()
  /** outputs not yet acknowledged → what they are about */
  private readonly pendingOutputs = new Map<string, string[]>()
  /** id → deadlines armed about it */
  private readonly armed = new Map<string, Array<Omit<ArmedDeadline, 'fired'>>>()
  /** each job stream's last context */
  private readonly creators = new Map<string, JobCreatorContext>()
  /** deal id → the provider's or mediator's last record of it, and the stream that held it */
  private readonly provided = new Map<string, { stream: string, record: ResourceProviderContext['deals'][string] }>()
  private readonly mediated = new Map<string, { stream: string, record: MediatorContext['mediations'][string] }>()
  /** proposal or deal id → the solver stream that signed or saw it */
  private readonly solved = new Map<string, string>()
  private cause: Cause | undefined

  /** For `auditLog`'s `observe`. */
  readonly observe = (record: LogRecord, step: ObservedStep | undefined): void => {
    if (record.type === RecordType.genesis) {
      this.node = (record.data as GenesisData).node
      return
    }
    if (step === undefined) return
    switch (record.type) {
      case ActorRecord.open: {
        const { stream, machine, input } = record.data as OpenData
        if (isObject(input) && isObject(input.domain)) this.domains.set(stream, input.domain as unknown as DomainJson)
        const subjects = new Set<string>()
        if (machine === 'job-creator') addIds(subjects, (step.after as JobCreatorContext).jobOfferId)
        this.decided(record.seq, stream, subjects)
        this.follow(stream, machine, undefined, step.after, record.seq, subjects)
        break
      }
      case ActorRecord.input: {
        const { stream, event } = record.data as InputData
        const subjects = this.inputSubjects(stream, step.machine, event, step.before)
        this.decided(record.seq, stream, subjects)
        if (step.machine === 'solver') for (const s of subjects) this.solved.set(s, stream)
        this.follow(stream, step.machine, step.before, step.after, record.seq, subjects)
        break
      }
      case ActorRecord.output: {
        const { stream, output } = record.data as OutputData
        const cause = this.cause?.stream === stream ? this.cause : undefined
        let subjects = this.outputSubjects(stream, output)
        if (subjects.size === 0 && cause !== undefined) subjects = cause.subjects
        for (const subject of subjects) {
          if (cause !== undefined && !cause.subjects.has(subject) && !cause.linked.has(subject)) {
            cause.linked.add(subject)
            this.note(subject, cause.seq)
          }
          this.note(subject, record.seq)
        }
        if (step.machine === 'solver') for (const s of subjects) this.solved.set(s, stream)
        this.pendingOutputs.set(outputKey(stream, output.id), [...subjects])
        break
      }
      case ActorRecord.ack: {
        const { stream, id } = record.data as AckData
        const key = outputKey(stream, id)
        const subjects = this.pendingOutputs.get(key)
        this.pendingOutputs.delete(key)
        if (subjects !== undefined) for (const s of subjects) this.note(s, record.seq)
        else {
          const ids = new Set<string>()
          addIds(ids, id)
          for (const s of ids) this.note(s, record.seq)
        }
        break
      }
      default:
        break
    }
  }

  private note (subject: string, seq: number): void {
    const seqs = this.subjects.get(subject)
    if (seqs === undefined) this.subjects.set(subject, [seq])
    else if (seqs[seqs.length - 1] !== seq) seqs.push(seq)
  }

  private decided (seq: number, stream: string, subjects: Set<string>): void {
    for (const s of subjects) this.note(s, seq)
    this.cause = { seq, stream, subjects, linked: new Set() }
  }

  private messageId (stream: string, type: string, message: unknown): string | undefined {
    const domain = this.domains.get(stream)
    if (domain === undefined) return undefined
    try {
      return nodeMessages.id(toDomain(domain), type as MessageType, message as never).toLowerCase()
    } catch {
      return undefined
    }
  }

  /** What a message is about: its own id for offers, proposals and deals; its deal for the rest. */
  private messageSubjects (into: Set<string>, stream: string, type: string, message: Record_): void {
    if (SELF_NAMED.has(type)) {
      const id = this.messageId(stream, type, message)
      if (id === undefined) return
      into.add(id)
      if (type === 'Deal') this.noteTerms(id, message as unknown as Deal, true)
    } else {
      addIds(into, message.dealId)
    }
  }

  private inputSubjects (stream: string, machine: string, event: InputEvent, before: unknown): Set<string> {
    const out = new Set<string>()
    addIds(out, event.dealId)
    addIds(out, event.effect)
    if (isEnvelope(event.envelope)) this.messageSubjects(out, stream, event.envelope.type, event.envelope.message as unknown as Record_)
    if (event.type === 'timer.fired' && out.size === 0) {
      const timer = String(event.timer)
      addIds(out, timer)
      if (out.size === 0 && machine === 'resource-provider') addIds(out, slotSubject(before as ResourceProviderContext, timer))
    }
    // every input of a job's stream is about the job's deal of the moment, or the job
    if (out.size === 0 && machine === 'job-creator') {
      const c = before as JobCreatorContext | undefined
      addIds(out, c?.dealId ?? c?.jobOfferId)
    }
    return out
  }

  private outputSubjects (stream: string, output: MachineOutput): Set<string> {
    const out = new Set<string>()
    if (typeof output.messageType === 'string' && isObject(output.message)) {
      this.messageSubjects(out, stream, output.messageType, output.message)
      return out
    }
    addIds(out, output.dealId)
    addIds(out, output.id)
    return out
  }

  private noteTerms (dealId: string, deal: Deal, signed: boolean): void {
    const known = this.terms.get(dealId)
    if (known === undefined || (signed && !known.signed)) this.terms.set(dealId, { deal, signed })
  }

  /** Keeps each party's latest record of its deals, and the deadlines armed about them. */
  private follow (stream: string, machine: string, before: unknown, after: unknown, seq: number, subjects: ReadonlySet<string>): void {
    switch (machine) {
      case 'job-creator': {
        const c = after as JobCreatorContext
        this.creators.set(stream, c)
        if (c.dealId !== null && c.deal !== null) this.noteTerms(c.dealId.toLowerCase(), c.deal, false)
        for (const u of c.unconfirmed ?? []) this.noteTerms(u.dealId.toLowerCase(), u.deal, false)
        break
      }
      case 'resource-provider': {
        const b = before as ResourceProviderContext | undefined
        const a = after as ResourceProviderContext
        if (a.deals !== b?.deals) {
          for (const [id, record] of Object.entries(a.deals)) {
            if (b?.deals[id] === record) continue
            this.provided.set(id.toLowerCase(), { stream, record })
            this.noteTerms(id.toLowerCase(), record.deal, false)
          }
        }
        // a deal ends, or an ended one changes, only by an input about it: looked for from the end,
        // where the deal that ends last mostly goes (a busy provider holds many ended deals)
        if (a.endedDeals !== b?.endedDeals) {
          for (const id of subjects) {
            for (let i = a.endedDeals.length - 1; i >= 0; i--) {
              const record = a.endedDeals[i] as EndedDeal
              if (record.dealId.toLowerCase() !== id) continue
              this.provided.set(id, { stream, record })
              break
            }
          }
        }
        break
      }
      case 'mediator': {
        const b = before as MediatorContext | undefined
        const a = after as MediatorContext
        if (a.mediations !== b?.mediations) {
          for (const [id, record] of Object.entries(a.mediations)) {
            if (b?.mediations[id] === record) continue
            this.mediated.set(id.toLowerCase(), { stream, record })
            this.noteTerms(id.toLowerCase(), record.deal, false)
          }
        }
        break
      }
      default:
        break
    }
    this.noteArmed(stream, machine, (before as { deadlines?: Deadlines } | undefined)?.deadlines, (after as { deadlines?: Deadlines } | undefined)?.deadlines, after, seq)
  }

  private noteArmed (stream: string, machine: string, before: Deadlines | undefined, after: Deadlines | undefined, context: unknown, seq: number): void {
    if (after === undefined || after === before) return
    for (const [name, at] of Object.entries(after)) {
      if (before?.[name] === at) continue
      const ids = new Set<string>()
      addIds(ids, name)
      if (ids.size === 0 && machine === 'resource-provider') addIds(ids, slotSubject(context as ResourceProviderContext, name))
      if (ids.size === 0 && machine === 'job-creator') addIds(ids, (context as JobCreatorContext).dealId ?? (context as JobCreatorContext).jobOfferId)
      for (const id of ids) {
        const list = this.armed.get(id)
        const entry = { seq, stream, name, at }
        if (list === undefined) this.armed.set(id, [entry])
        else list.push(entry)
      }
    }
  }

  /** The deal ids this log holds. */
  dealIds (): string[] {
    return [...this.terms.keys()]
  }

  /** Whether the log holds anything of a deal: its terms, a provider's record of it, or a mediation. */
  holds (dealId: string): boolean {
    const id = dealId.toLowerCase()
    return this.terms.has(id) || this.provided.has(id) || this.mediated.has(id)
  }

  /** What an id names in this log, and the ids whose records make up its history; undefined when the log holds nothing about it. */
  resolve (query: string): { kind: DealTrace['kind'], deals: string[], related: Set<string> } | undefined {
    if (!HEX_ID_ONLY.test(query)) return undefined
    const id = query.toLowerCase()
    const related = new Set<string>([id])
    const relate = (dealId: string): void => {
      related.add(dealId)
      const terms = this.terms.get(dealId)?.deal
      if (terms === undefined) return
      for (const other of [terms.jobOfferId, terms.resourceOfferId, terms.matchProposalId]) related.add(other.toLowerCase())
    }
    if (this.terms.has(id) || this.provided.has(id) || this.mediated.has(id)) {
      relate(id)
      return { kind: 'deal', deals: [id], related }
    }
    const deals = [...this.terms].filter(([, t]) => t.deal.jobOfferId.toLowerCase() === id).map(([dealId]) => dealId)
    if (deals.length > 0 || this.creators.has(`job:${query}`) || [...this.creators.values()].some(c => c.jobOfferId.toLowerCase() === id)) {
      for (const dealId of deals) relate(dealId)
      return { kind: 'job', deals, related }
    }
    if (!this.subjects.has(id)) return undefined
    return { kind: 'other', deals: [], related }
  }

  /** The deal the job creator of this log ended a job with (its last deal), if it holds that job. */
  creatorDealOf (jobOfferId: string): string | null {
    for (const c of this.creators.values()) if (c.jobOfferId.toLowerCase() === jobOfferId.toLowerCase()) return c.dealId?.toLowerCase() ?? null
    return null
  }

  summary (dealId: string): DealSummary {
    const terms = this.terms.get(dealId)?.deal ?? null
    const parties: PartyView[] = []
    for (const [stream, c] of this.creators) {
      if (terms !== null ? c.jobOfferId.toLowerCase() !== terms.jobOfferId.toLowerCase() : !this.heldBy(dealId, stream)) continue
      parties.push(creatorView(stream, c, dealId))
    }
    const provided = this.provided.get(dealId)
    if (provided !== undefined) {
      const r = provided.record
      parties.push({ role: 'resource-provider', stream: provided.stream, state: r.state, outcome: isDealOutcome(r.state) ? r.state : null, resultsCid: r.resultsCid })
    }
    const mediated = this.mediated.get(dealId)
    if (mediated !== undefined) {
      const m = mediated.record
      const verdict = m.state === 'decided' ? { verdict: m.providerAtFault === true ? 'MediationRejected' as const : 'MediationAccepted' as const } : {}
      parties.push({ role: 'mediator', stream: mediated.stream, state: m.state, outcome: null, resultsCid: m.resultsCid, ...verdict })
    }
    const proposal = terms?.matchProposalId.toLowerCase()
    const solver = this.solved.get(dealId) ?? (proposal === undefined ? undefined : this.solved.get(proposal))
    if (solver !== undefined) {
      parties.push({ role: 'solver', stream: solver, state: this.solved.has(dealId) ? 'agreed' : 'proposed', outcome: null, resultsCid: null })
    }
    // a node's streams share its domain
    const domainStream = parties[0]?.stream
    const domain = (domainStream === undefined ? undefined : this.domains.get(domainStream)) ?? this.domains.values().next().value ?? null
    return { dealId, jobOfferId: terms?.jobOfferId ?? null, terms, domain, parties }
  }

  private heldBy (dealId: string, stream: string): boolean {
    return this.creators.get(stream)?.dealId?.toLowerCase() === dealId
  }

  /**
   * One deal's (or job's) history, read back from the log between its first and last records, with
   * the messages this node signed about it as they are kept beside the log. Undefined when the log
   * holds nothing about the id.
   */
  async trace (log: EventLog, query: string, kept?: KeptMessages): Promise<DealTrace | undefined> {
    const found = this.resolve(query)
    if (found === undefined) return undefined
    const selected = new Set<number>()
    for (const id of found.related) for (const seq of this.subjects.get(id) ?? []) selected.add(seq)
    const seqs = [...selected].sort((a, b) => a - b)
    const trace: DealTrace = {
      query,
      kind: found.kind,
      deals: found.deals.map(id => this.summary(id)),
      decisions: [],
      messages: [],
      deadlines: [],
      chain: [],
      problems: [],
      records: []
    }
    const armed = new Map<string, ArmedDeadline>()
    for (const id of found.related) {
      for (const a of this.armed.get(id) ?? []) armed.set(`${a.stream}\u0000${a.name}\u0000${a.at}\u0000${a.seq}`, { ...a, fired: null })
    }
    trace.deadlines = [...armed.values()].sort((a, b) => a.seq - b.seq)
    if (seqs.length === 0) return trace

    const last = seqs[seqs.length - 1] as number
    const outputs = new Map<string, OutputEntry>()
    const requests = new Map<string, ChainRequest>()
    const signedOutputs: Array<{ seq: number, stream: string, output: MachineOutput, message: SignedMessage }> = []
    let decision: Decision | undefined
    for await (const record of log.read(seqs[0])) {
      if (record.seq > last && record.type !== ActorRecord.output && record.type !== RecordType.checkpoint) break
      const isSelected = selected.has(record.seq)
      if (isSelected) trace.records.push(record)
      switch (record.type) {
        case ActorRecord.open:
        case ActorRecord.input: {
          if (!isSelected) {
            decision = undefined
            break
          }
          const stream = (record.data as { stream: string }).stream
          const event = record.type === ActorRecord.input ? (record.data as InputData).event : undefined
          decision = { seq: record.seq, at: record.at, stream, input: event === undefined ? `opens ${(record.data as OpenData).machine}` : describeInput(event), outputs: [], otherOutputs: 0, armed: [] }
          decision.armed = trace.deadlines.filter(d => d.seq === record.seq).map(d => ({ name: d.name, at: d.at }))
          trace.decisions.push(decision)
          if (event !== undefined) this.traceInput(trace, record.seq, stream, event, requests)
          break
        }
        case ActorRecord.output: {
          const { stream, output } = record.data as OutputData
          const current = decision?.stream === stream ? decision : undefined
          if (!isSelected) {
            if (current !== undefined) current.otherOutputs++
            break
          }
          const entry: OutputEntry = { seq: record.seq, type: output.type, id: output.id, summary: describeOutput(output) }
          outputs.set(outputKey(stream, output.id), entry)
          current?.outputs.push(entry)
          if (output.type.startsWith('chain.')) {
            const request: ChainRequest = { seq: record.seq, type: output.type, id: output.id, summary: entry.summary, results: [] }
            requests.set(outputKey(stream, output.id), request)
            trace.chain.push(request)
          }
          if (SIGNED_OUTPUTS.has(output.type) && typeof output.messageType === 'string') {
            const message: SignedMessage = { seq: record.seq, how: 'signed', type: output.messageType, id: this.messageId(stream, output.messageType, output.message) ?? null, envelope: null, kept: `out:${output.id}` }
            trace.messages.push(message)
            signedOutputs.push({ seq: record.seq, stream, output, message })
          } else if (output.type === 'message.forward' && typeof output.message === 'string') {
            trace.messages.push({ seq: record.seq, how: 'forwarded', type: 'message', id: output.message.toLowerCase(), envelope: null, kept: `id:${output.message}` })
          }
          break
        }
        case ActorRecord.ack: {
          if (!isSelected) break
          const { stream, id, error } = record.data as AckData
          const ack = error === undefined ? { seq: record.seq } : { seq: record.seq, error }
          const entry = outputs.get(outputKey(stream, id))
          if (entry !== undefined) entry.ack = ack
          const request = requests.get(outputKey(stream, id))
          if (request !== undefined) request.ack = ack
          break
        }
        default:
          break
      }
    }
    for (const d of trace.deadlines) {
      const fired = trace.records.find(r => r.type === ActorRecord.input && r.seq > d.seq && (r.data as InputData).stream === d.stream &&
        (r.data as InputData).event.type === 'timer.fired' && (r.data as InputData).event.timer === d.name && (r.data as InputData).event.deadline === d.at)
      d.fired = fired?.seq ?? null
    }
    if (kept !== undefined) await this.checkKept(trace, signedOutputs, outputs, kept)
    return trace
  }

  private traceInput (trace: DealTrace, seq: number, stream: string, event: InputEvent, requests: Map<string, ChainRequest>): void {
    const envelopes: Array<{ how: MessageHow, envelope: unknown }> = []
    if (event.type === 'message.received') {
      envelopes.push({ how: 'received', envelope: event.envelope })
      for (const a of Array.isArray(event.attachments) ? event.attachments : []) envelopes.push({ how: 'attached', envelope: a })
    } else if (isEnvelope(event.envelope)) {
      envelopes.push({ how: 'read from chain', envelope: event.envelope })
    }
    for (const { how, envelope } of envelopes) {
      if (!isEnvelope(envelope)) continue
      trace.messages.push({ seq, how, type: envelope.type, id: this.messageId(stream, envelope.type, envelope.message) ?? null, envelope })
    }
    if (typeof event.effect === 'string') requests.get(outputKey(stream, event.effect))?.results.push({ seq, summary: describeInput(event) })
  }

  /**
   * The node's own signed messages are kept beside the log, outside its hash chain: each must be
   * the message of the output that sent it, signed by its authors; and every copy kept by message
   * id must be the one the log holds (a Deal may have gathered more signatures since).
   */
  private async checkKept (trace: DealTrace, signed: Array<{ seq: number, stream: string, output: MachineOutput, message: SignedMessage }>,
    outputs: Map<string, OutputEntry>, kept: KeptMessages): Promise<void> {
    const doubted = new Set<string>()
    const problem = (message: SignedMessage, p: DealProblem): void => {
      trace.problems.push(p)
      if (message.id !== null) doubted.add(message.id)
    }
    for (const { seq, stream, output, message } of signed) {
      const text = await kept(`out:${output.id}`)
      const acked = outputs.get(outputKey(stream, output.id))?.ack
      if (text === undefined) {
        // a message that could not be signed is never kept: its output fails, and says why
        if (acked !== undefined && acked.error === undefined) problem(message, { seq, code: 'ERR_KEPT_MISSING', reason: `no signed message is kept for output ${output.id}, which was carried out` })
        continue
      }
      let envelope: Envelope
      try {
        envelope = JSON.parse(text) as Envelope
        if (!isEnvelope(envelope)) throw new Error('not an envelope')
      } catch (err) {
        problem(message, { seq, code: 'ERR_KEPT_DECODE', reason: `the message kept for output ${output.id} cannot be read: ${(err as Error).message}` })
        continue
      }
      message.envelope = envelope
      const existing = Array.isArray(output.signatures) ? output.signatures as string[] : []
      if (envelope.type !== output.messageType || canonicalJson(envelope.message) !== canonicalJson(output.message) ||
          !existing.every((s, i) => envelope.signatures[i] === s)) {
        problem(message, { seq, code: 'ERR_KEPT_DIFFERS', reason: `the ${String(output.messageType)} kept for output ${output.id} is not the message that output signed` })
        continue
      }
      const unsigned = this.signatureProblem(stream, envelope)
      if (unsigned !== undefined) problem(message, { seq, code: 'ERR_KEPT_SIGNATURE', reason: `the ${envelope.type} kept for output ${output.id} ${unsigned}` })
    }
    // every copy kept by message id is one the log holds (a received message is kept as it came);
    // a message whose kept copy was found wrong above is not held against itself again
    const copies = new Map<string, SignedMessage[]>()
    for (const message of trace.messages) {
      if (message.id === null || message.envelope === null || message.how === 'forwarded' || doubted.has(message.id)) continue
      const list = copies.get(message.id)
      if (list === undefined) copies.set(message.id, [message])
      else list.push(message)
    }
    for (const [id, held] of copies) {
      const text = await kept(`id:${id}`)
      if (text === undefined) continue
      let copy: unknown
      try {
        copy = JSON.parse(text)
      } catch {
        copy = undefined
      }
      if (isEnvelope(copy) && held.some(m => sameSignedMessage(m.envelope as Envelope, copy))) continue
      const first = held[0] as SignedMessage
      trace.problems.push({ seq: first.seq, code: 'ERR_KEPT_COPY', reason: `the copy of ${first.type} ${id} kept as id:${id} is none of those the log holds (record ${held.map(m => m.seq).join(', ')})` })
    }
  }

  /** Why an envelope is not validly signed by its authors under this stream's domain, or undefined when it is. */
  signatureProblem (stream: string, envelope: Envelope): string | undefined {
    const domain = this.domains.get(stream)
    if (domain === undefined) return undefined
    try {
      nodeMessages.verify(toDomain(domain), envelope, { partial: envelope.type === 'Deal' && envelope.signatures.length < 2 })
      return undefined
    } catch (err) {
      return `does not verify: ${(err as Error).message}`
    }
  }

  /** The EIP-712 domain of a stream. */
  domainOf (stream: string): DomainJson | undefined {
    return this.domains.get(stream)
  }
}

/**
 * Whether two copies of a signed message are the same, byte for byte in canonical form: a Deal
 * gathers signatures (the job creator's, then the provider's), so one copy's may be the first of
 * the other's.
 */
export function sameSignedMessage (a: Envelope, b: Envelope): boolean {
  if (a.type !== 'Deal' || b.type !== 'Deal') return canonicalJson(a) === canonicalJson(b)
  if (canonicalJson(a.message) !== canonicalJson(b.message)) return false
  const [short, long] = a.signatures.length <= b.signatures.length ? [a, b] : [b, a]
  return short.signatures.every((s, i) => long.signatures[i] === s)
}

function slotSubject (c: ResourceProviderContext | undefined, timer: string): string | undefined {
  const [kind, slot] = timer.split(':')
  const state = c?.slots?.[Number(slot)]
  if (state === undefined) return undefined
  return kind === 'offer' ? state.offerId : state.dealId ?? undefined
}

function creatorView (stream: string, c: JobCreatorContext, dealId: string): PartyView {
  const base = { role: 'job-creator' as const, stream }
  if (c.dealId?.toLowerCase() === dealId) {
    const state = c.phase === 'done' ? c.outcome ?? 'done' : c.phase
    return { ...base, state, outcome: isDealOutcome(c.outcome) ? c.outcome : null, resultsCid: c.resultsCid }
  }
  // a deal the job creator signed whose co-signature never came in time, watched on chain
  if ((c.unconfirmed ?? []).some(u => u.dealId.toLowerCase() === dealId)) return { ...base, state: 'unconfirmed', outcome: null, resultsCid: null }
  return { ...base, state: 'fell through', outcome: null, resultsCid: null }
}

function envelopeWords (envelope: unknown): string {
  if (!isEnvelope(envelope)) return 'a malformed message'
  const m = envelope.message as unknown as Record_
  const from = typeof m.author === 'string' ? ` from ${m.author}` : envelope.type === 'Deal' ? ` signed ${envelope.signatures.length} of 2` : ''
  return `${envelope.type}${from}`
}

/** An input in a few words. */
export function describeInput (event: InputEvent): string {
  switch (event.type) {
    case 'message.received': {
      const attached = Array.isArray(event.attachments) && event.attachments.length > 0
        ? ` (with ${event.attachments.map(a => isEnvelope(a) ? a.type : '?').join(', ')})`
        : ''
      return `received ${envelopeWords(event.envelope)}${attached}`
    }
    case 'timer.fired':
      return `timer ${String(event.timer)} fired (deadline ${new Date(Number(event.deadline)).toISOString()})`
    case 'effect.failed':
      return `${String(event.effect)} failed: ${String(event.error)}`
    default: {
      const details = Object.entries(event)
        .filter(([k, v]) => !['type', 'at', 'effect', 'envelope', 'job'].includes(k) && (typeof v !== 'object' || v === null))
        .map(([k, v]) => `${k} ${String(v)}`)
      const answer = typeof event.effect === 'string' ? ` for ${event.effect}` : ''
      const read = isEnvelope(event.envelope) ? `, ${envelopeWords(event.envelope)}` : ''
      return `${event.type}${answer}${details.length > 0 ? `: ${details.join(', ')}` : ''}${read}`
    }
  }
}

/** An output in a few words. */
export function describeOutput (output: MachineOutput): string {
  const to = Array.isArray(output.to) && output.to.length > 0 ? ` to ${output.to.join(', ')}` : ''
  switch (output.type) {
    case 'message.publish': return `sign ${String(output.messageType)}, publish on ${String(output.topic)}`
    case 'message.send': return `sign ${String(output.messageType)}${Array.isArray(output.signatures) && output.signatures.length > 0 ? ' (co-sign)' : ''}, send${to}${typeof output.topic === 'string' ? `, publish on ${output.topic}` : ''}`
    case 'message.forward': return `forward ${String(output.message)}${to}`
    case 'chain.settle': return `settle ${String(output.outcome)} (evidence ${(output.evidence as string[] | undefined ?? []).join(', ')})`
    case 'chain.claim': return `claim ${String(output.claim)}`
    case 'chain.challenge': return 'challenge on chain (which draws the judge)'
    case 'chain.takeCase': return 'take the case'
    case 'chain.commitResults': return `commit results ${String(output.resultsCid)}`
    case 'chain.watch': return 'read the deal\'s record'
    case 'chain.readDeposit': return `read the deposit of ${String(output.account)}`
    case 'job.run': return `run the job (${String(output.purpose)})`
    case 'job.prepare': return 'check the job can run here'
    case 'job.warm': return 'start the job ahead of its deal'
    case 'results.fetch': return `fetch results ${String(output.resultsCid)} from ${String(output.from)}`
    case 'results.provide': return `provide results ${String(output.resultsCid)} to ${String(output.to)}`
    case 'deal.declined': return `declined: ${String(output.reason)}`
    case 'input.rejected': return `refused the input: ${String(output.reason)}`
    default: return output.type
  }
}
