/**
 * EIP-712 ids, signatures and verification. Pure: keys and time are arguments.
 * Hashing and recovery take the fast paths of eip712-hash.ts and recover-signer.ts, each equal to
 * ethers' result (ethers' TypedDataEncoder and recoverAddress), at a fraction of the cost: every
 * node checks every gossiped message.
 *
 * What is known of messages (ids, parses, verifications, memoised by content) belongs to a
 * `Messages` object. A node uses one, `nodeMessages`, through the functions below; a simulation
 * makes its own, with shared payloads and its reading of its stand-in signatures, and hands it to
 * the role machines it builds (`src/state-machines`, `createDeciders`).
 */
import { getAddress, type Wallet } from 'ethers'
import { hashTypedMessage } from './eip712-hash.ts'
import type { LilypadDomain, MessageType } from './eip712-types.ts'
import { EnvelopeSchema, KnownPayloadEnvelopeSchema, signersOf, type Envelope, type Verified } from './envelope.ts'
import { MessageError } from './errors.ts'
import { fastParseOf } from './fast-parse.ts'
import { BoundedMemo, jsonKey, SmallMap } from './memo.ts'
import { recoverSigner } from './recover-signer.ts'
import { signDigest } from './sign-digest.ts'
import { MESSAGE_SCHEMAS, type MessagePayloads } from './schemas.ts'

/** What is known of one JSON text of a message of one type (or, with shared payloads, of one payload). */
interface Known {
  type: MessageType
  /** its JSON text; none for a shared payload known by identity only */
  text?: string
  /** what it normalises to, once it parsed (itself when it is normal) */
  normal?: Known
  /** its id under each domain it was hashed in */
  ids?: SmallMap<string>
  /** with shared payloads: the frozen payload handed out for this (normal) text, or that carries this */
  payload?: object
}

/** What is known of a text or payload: nothing yet but its type. Every field is set here, so that all share one layout. */
function knownOf (type: MessageType, text: string | undefined): Known {
  return { type, text, normal: undefined, ids: undefined, payload: undefined }
}

interface DomainKeys { id: string, full: string, partial: string }

/** A base class whose constructor returns the object it is given: a subclass then sets its own fields on that object. */
class Itself {
  constructor (value: object) {
    return value as Itself
  }
}

/**
 * What a `Messages` knows of a payload or an envelope it shared (`sharedPayloads`), kept on that
 * object in a private field of this class before it is frozen: only this class reads it, and the
 * object stays the plain record every other reader sees (its keys, JSON and prototype unchanged).
 * A WeakMap from each such object to what is known held every live message of a run: at a million
 * jobs, millions of keys against V8's two million or so identity hashes (21 bits on x64), and a
 * third of the run went to probing its table.
 */
class Knowledge extends Itself {
  readonly #owner: Messages
  readonly #value: unknown

  private constructor (target: object, owner: Messages, value: unknown) {
    super(target)
    this.#owner = owner
    this.#value = value
  }

  /** Keeps `value` on `target` (not yet frozen) for `owner`. */
  static keep (target: object, owner: Messages, value: unknown): void {
    // the constructor writes its fields on `target`
    new Knowledge(target, owner, value)
  }

  /** What `owner` kept on `target`, if anything. */
  static of<T> (target: object, owner: Messages): T | undefined {
    if (!(#owner in target) || target.#owner !== owner) return undefined
    return target.#value as T
  }
}

/** The signer's address (lower case) of a stand-in signature a simulation reads itself, or undefined to recover as usual. */
export type SignerShortcut = (digest: string, signature: string) => string | undefined

export interface MessagesOptions {
  /** how many messages each memo holds (default 4096): a node sees its own traffic */
  memoLimit?: number
  /**
   * Shared payloads (a simulation's, whose every party runs in one process and whose machines never
   * change a payload in place): parsing hands out a deeply frozen payload instead of a fresh copy,
   * and a payload or envelope that comes back by identity is recognised without being parsed, hashed
   * or written as JSON again. A frozen value cannot change, so what is known of it holds for it. A
   * payload the fast path accepts is known by identity only: writing and keeping the JSON text of
   * every new message cost a simulation a twentieth of its time and much of its heap, and its
   * messages travel as the frozen payloads themselves.
   */
  sharedPayloads?: boolean
  /**
   * A simulation's reading of its own stand-in signatures, asked before any recovery: they name their
   * signer, and reading the name is cheaper than key recovery.
   */
  signerShortcut?: SignerShortcut
}

export interface VerifyOptions {
  /** if set, a message whose expiry is before this time (ms) is rejected */
  now?: number
  /** accept a Deal carrying only the job creator's signature (a deal on its way to the provider) */
  partial?: boolean
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}

function sameStrings (a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function memoIn<M> (memos: Map<string, M>, name: string, make: () => M): M {
  let memo = memos.get(name)
  if (memo === undefined) memos.set(name, memo = make())
  return memo
}

/** Message ids, parsing, signing and verification, with what is known of the messages met. */
export class Messages {
  private readonly memoLimit: number
  private readonly shared: boolean
  private readonly shortcut: SignerShortcut | undefined
  /** what is known of each JSON text of a message */
  private readonly knownTexts: BoundedMemo<Known>
  /** per domain, full or partial: the verification of each JSON text of an envelope */
  private readonly verifications = new Map<string, BoundedMemo<Verified>>()
  /** per verification memo: the verification of each frozen envelope checked before (one not made by `share`) */
  private readonly frozenVerifications = new Map<string, WeakMap<object, Verified>>()
  /** with shared payloads: one frozen list of strings per content, shared by the payloads that hold it */
  private readonly lists: BoundedMemo<string[]>
  /** per domain object (never changed in place), the texts that name it and its verification memos: domains are few, and mostly the same object again */
  private readonly domainKeys = new WeakMap<LilypadDomain, DomainKeys>()

  constructor (options: MessagesOptions = {}) {
    this.memoLimit = options.memoLimit ?? 4096
    this.shared = options.sharedPayloads === true
    this.shortcut = options.signerShortcut
    this.knownTexts = new BoundedMemo<Known>(this.memoLimit)
    this.lists = new BoundedMemo<string[]>(this.memoLimit)
  }

  /** The message id: its EIP-712 hash under the domain. */
  id<T extends MessageType> (domain: LilypadDomain, type: T, message: MessagePayloads[T]): string {
    const frozen = this.knownPayload(type, message)
    if (frozen !== undefined) return this.idOf(domain, type, message, frozen, true)
    const text = MESSAGE_SCHEMAS[type] === undefined ? undefined : jsonKey(message)
    return text === undefined ? hashTypedMessage(domain, type, message) : this.idOf(domain, type, message, this.knownText(type, text), false)
  }

  /** Validates a payload against its type's schema; returns the normalised payload (a new object, or a shared frozen one). */
  parse<T extends MessageType> (type: T, message: unknown): MessagePayloads[T] {
    return this.normalise(type, message).payload
  }

  /** A payload validated and normalised, with its id: what signing and verifying a message both need. */
  checked<T extends MessageType> (domain: LilypadDomain, type: T, message: unknown): { payload: MessagePayloads[T], id: string } {
    const { payload, known } = this.normalise(type, message)
    return { payload, id: known === undefined ? hashTypedMessage(domain, type, payload, true) : this.idOf(domain, type, payload, known, true) }
  }

  /** Builds a signed envelope. For a Deal, pass the co-signature already collected (if any). */
  sign<T extends MessageType> (
    wallet: Pick<Wallet, 'signingKey' | 'address'>, domain: LilypadDomain, type: T, message: MessagePayloads[T], existing: string[] = []
  ): Envelope<T> {
    const { payload, id } = this.checked(domain, type, message)
    const signers = signersOf(type, payload)
    const index = signers.findIndex(s => s === wallet.address)
    if (index < 0) throw new MessageError('WRONG_SIGNER', `${wallet.address} is not an author of this ${type}`)
    const signatures = signers.map((_, i) => i === index ? signDigest(wallet.signingKey, id) : existing[i])
    while (signatures.length > 0 && signatures[signatures.length - 1] === undefined) signatures.pop()
    if (signatures.includes(undefined)) throw new MessageError('MISSING_SIGNATURE', `${type} must be signed by ${signers[0]} first`)
    return { type, message: payload, signatures: signatures as string[] }
  }

  /**
   * Checks an envelope: shape, schema, every required signature, and expiry. Throws MessageError.
   * Deterministic, so results are memoised by content (a replay verifies each message once).
   */
  verify (domain: LilypadDomain, envelope: unknown, options: VerifyOptions = {}): Verified {
    const keys = this.domainKeysOf(domain)
    const name = options.partial === true ? keys.partial : keys.full
    const partial = options.partial === true
    let result: Verified | undefined
    if (this.isFrozenEnvelope(envelope)) {
      const own = Knowledge.of<SmallMap<Verified>>(envelope, this)
      if (own !== undefined) {
        result = own.get(name)
        if (result === undefined) own.set(name, result = this.verifyUncached(domain, envelope, partial))
      } else {
        // an envelope is mostly met again as the same object: its text is not worth writing
        const frozen = memoIn(this.frozenVerifications, name, () => new WeakMap())
        result = frozen.get(envelope)
        if (result === undefined) frozen.set(envelope, result = this.verifyUncached(domain, envelope, partial))
      }
    } else {
      const memo = memoIn(this.verifications, name, () => new BoundedMemo<Verified>(this.memoLimit))
      const key = JSON.stringify(envelope)
      result = memo.get(key)
      if (result === undefined) memo.set(key, result = this.verifyUncached(domain, envelope, partial))
    }
    if (options.now !== undefined && (result.message as { expiry: number }).expiry < options.now) {
      throw new MessageError('EXPIRED', `${result.type} ${result.id} expired at ${(result.message as { expiry: number }).expiry}`)
    }
    return result
  }

  /**
   * Freezes an envelope around a shared payload (its signatures too), with a place of its own for
   * its verifications: a simulation hands the same envelope to every receiver, and each checks it.
   */
  share<T extends MessageType> (envelope: Envelope<T>): Envelope<T> {
    // what is known is kept on the envelope before it is frozen: one frozen already is copied first
    const own = this.shared && Object.isFrozen(envelope) ? { type: envelope.type, message: envelope.message, signatures: envelope.signatures } : envelope
    if (this.shared) Knowledge.keep(own, this, new SmallMap<Verified>())
    Object.freeze(own.signatures)
    return Object.freeze(own)
  }

  private domainKeysOf (domain: LilypadDomain): DomainKeys {
    let keys = this.domainKeys.get(domain)
    if (keys === undefined) {
      const id = `${domain.name}|${domain.version}|${domain.chainId}|${domain.verifyingContract}|${String(domain.salt)}`
      this.domainKeys.set(domain, keys = { id, full: `${id}:full`, partial: `${id}:partial` })
    }
    return keys
  }

  /**
   * Freezes a payload as the shared one of a normal text, known as that text from here on. Its lists
   * of strings (trusted solvers and mediators, modules) are mostly the same lists again: each is one
   * frozen list shared by every payload that holds it.
   */
  private sharePayload (payload: object, normal: Known): object {
    const fields = payload as Record<string, unknown>
    for (const key in fields) {
      const value = fields[key]
      if (Array.isArray(value)) fields[key] = this.sharedList(value)
    }
    Knowledge.keep(payload, this, normal)
    normal.payload = deepFreeze(payload)
    return payload
  }

  /** One frozen list per content of a list of strings (any other list is left as it is). */
  private sharedList (list: unknown[]): unknown[] {
    let key = ''
    for (let i = 0; i < list.length; i++) {
      const item = list[i]
      if (typeof item !== 'string') return list
      key = i === 0 ? item : `${key},${item}`
    }
    const shared = this.lists.get(key)
    if (shared !== undefined && sameStrings(shared, list)) return shared
    this.lists.set(key, Object.freeze(list) as string[])
    return list
  }

  /** The shared frozen payload of a normal text (made on first use). */
  private sharedPayload (normal: Known): object {
    return normal.payload ?? this.sharePayload(JSON.parse(normal.text as string) as object, normal)
  }

  /** What is known of a frozen payload handed out before as a payload of this type, if it is one. */
  private knownPayload (type: MessageType, message: unknown): Known | undefined {
    if (!this.shared || typeof message !== 'object' || message === null) return undefined
    const known = Knowledge.of<Known>(message, this)
    return known?.type === type ? known : undefined
  }

  /** An envelope that cannot change: frozen, with frozen signatures and a shared payload. */
  private isFrozenEnvelope (envelope: unknown): envelope is Envelope {
    if (!this.shared || typeof envelope !== 'object' || envelope === null || !Object.isFrozen(envelope)) return false
    const { type, message, signatures } = envelope as { type?: unknown, message?: unknown, signatures?: unknown }
    return typeof type === 'string' && Array.isArray(signatures) && Object.isFrozen(signatures) &&
      this.knownPayload(type as MessageType, message) !== undefined
  }

  private knownText (type: MessageType, text: string): Known {
    let known = this.knownTexts.get(text)
    if (known === undefined || known.type !== type) this.knownTexts.set(text, known = knownOf(type, text))
    return known
  }

  /** The id of a message under a domain, memoised with what is known of it; `checked` when the message is a payload its schema returned. */
  private idOf (domain: LilypadDomain, type: MessageType, message: object, known: Known, checked: boolean): string {
    const key = this.domainKeysOf(domain).id
    let id = known.ids?.get(key)
    if (id === undefined) (known.ids ??= new SmallMap()).set(key, id = hashTypedMessage(domain, type, message, checked))
    return id
  }

  /** The normalised payload (a new object, or a shared frozen one), and what is known of its text. */
  private normalise<T extends MessageType> (type: T, message: unknown): { payload: MessagePayloads[T], known: Known | undefined } {
    const schema = MESSAGE_SCHEMAS[type]
    if (schema === undefined) throw new MessageError('UNKNOWN_TYPE', `unknown message type ${String(type)}`)
    const frozen = this.knownPayload(type, message)
    if (frozen !== undefined) return { payload: message as MessagePayloads[T], known: frozen }
    // a valid payload parses fast, and is then known by its normal text: its own text is not worth writing
    const fast = fastParseOf(schema)?.(message)
    if (fast !== undefined) return this.settled(type, fast as MessagePayloads[T], undefined, undefined)
    const text = jsonKey(message)
    const input = text === undefined ? undefined : this.knownText(type, text)
    if (input?.normal !== undefined) {
      const payload = this.shared ? this.sharedPayload(input.normal) : JSON.parse(input.normal.text as string)
      return { payload: payload as MessagePayloads[T], known: input.normal }
    }
    const parsed = schema.safeParse(message)
    if (!parsed.success) {
      const first = parsed.error.issues[0]
      throw new MessageError('INVALID_SCHEMA', `${type}.${first?.path.join('.') ?? ''}: ${first?.message ?? 'invalid'}`,
        { issues: parsed.error.issues.map(i => ({ path: i.path.join('.'), message: i.message })) })
    }
    return this.settled(type, parsed.data as MessagePayloads[T], input, text)
  }

  /** A parsed payload and what is known of its normal text (and of the input text it came from, if that was looked up). */
  private settled<T extends MessageType> (type: T, payload: MessagePayloads[T], input: Known | undefined, text: string | undefined): { payload: MessagePayloads[T], known: Known | undefined } {
    if (this.shared && input === undefined) {
      // the parsed output is a new object (its arrays too): it is the payload, known by identity from here on
      const known = knownOf(type, undefined)
      known.normal = known
      return { payload: this.sharePayload(payload, known) as MessagePayloads[T], known }
    }
    const normalText = jsonKey(payload)
    if (normalText === undefined) return { payload, known: undefined }
    // the normal text is what gets parsed next (by the signer, by receivers)
    const normal = input !== undefined && normalText === text ? input : this.knownText(type, normalText)
    normal.normal = normal
    if (input !== undefined) input.normal = normal
    if (this.shared) {
      // the parsed output is a new object (its arrays too) whose text is the normal one: it is the payload
      return { payload: (normal.payload ?? this.sharePayload(payload, normal)) as MessagePayloads[T], known: normal }
    }
    return { payload, known: normal }
  }

  private recover (id: string, signature: string): string {
    const named = this.shortcut?.(id, signature)
    return named !== undefined ? named : recoverSigner(id, signature)
  }

  private verifyUncached (domain: LilypadDomain, envelope: unknown, partial: boolean): Verified {
    const { type: claimed, message: original } = (envelope ?? {}) as { type?: unknown, message?: unknown }
    // a shared payload was checked by its schema when it was made: the record check would only repeat it
    const knownMessage = typeof claimed === 'string' && this.knownPayload(claimed as MessageType, original) !== undefined
    const schema = knownMessage ? KnownPayloadEnvelopeSchema : EnvelopeSchema
    const fast = fastParseOf(schema)?.(envelope) as ReturnType<typeof schema.parse> | undefined
    const shape = fast !== undefined ? { success: true as const, data: fast } : schema.safeParse(envelope)
    if (!shape.success) {
      const first = shape.error.issues[0]
      const code = first?.path[0] === 'signatures' ? 'MISSING_SIGNATURE' : first?.path[0] === 'type' ? 'UNKNOWN_TYPE' : 'INVALID_SCHEMA'
      throw new MessageError(code, `envelope.${first?.path.join('.') ?? ''}: ${first?.message ?? 'invalid'}`)
    }
    const { type, signatures } = shape.data
    // the record the envelope schema copied has the same JSON text as a shared payload it copied
    const { payload: message, id } = this.checked(domain, type, knownMessage ? original : shape.data.message)
    const required = signersOf(type, message)
    const needed = partial && type === 'Deal' ? 1 : required.length
    if (signatures.length < needed || signatures.length > required.length) {
      throw new MessageError('MISSING_SIGNATURE', `${type} needs ${required.length} signature(s), has ${signatures.length}`)
    }
    const signers = signatures.map((sig, i) => {
      let recovered: string
      try {
        recovered = this.recover(id, sig)
      } catch {
        throw new MessageError('BAD_SIGNATURE', `signature ${i} of ${type} ${id} is malformed`)
      }
      const expected = required[i] as string // checksummed by the schema
      if (recovered !== expected.toLowerCase()) {
        throw new MessageError('WRONG_SIGNER', `${type} ${id} signature ${i} is by ${getAddress(recovered)}, expected ${expected}`)
      }
      return expected
    })
    return { type, id, message, signers, envelope: this.sameEnvelope(envelope, message) ? envelope : { type, message, signatures } as Envelope }
  }

  /**
   * Whether a checked envelope is already what verification would build: frozen around the payload
   * it checked, with its keys in order. It is then handed back itself, so that checking it again
   * (a node keeps the envelopes it verified, and checks them again later) finds its verification.
   */
  private sameEnvelope (envelope: unknown, message: unknown): envelope is Envelope {
    if (!this.isFrozenEnvelope(envelope) || envelope.message !== message) return false
    const keys = Object.keys(envelope)
    return keys[0] === 'type' && keys[1] === 'message' && keys[2] === 'signatures'
  }
}

/** A node's messages: its own traffic, and a payload of its own for every caller. */
export const nodeMessages = new Messages()

/** The message id: its EIP-712 hash under the domain. */
export function messageId<T extends MessageType> (domain: LilypadDomain, type: T, message: MessagePayloads[T]): string {
  return nodeMessages.id(domain, type, message)
}

/** Validates a payload against its type's schema; returns the normalised payload (a new object). */
export function parsePayload<T extends MessageType> (type: T, message: unknown): MessagePayloads[T] {
  return nodeMessages.parse(type, message)
}

/** A payload validated and normalised, with its id: what signing and verifying a message both need. */
export function checkedPayload<T extends MessageType> (domain: LilypadDomain, type: T, message: unknown): { payload: MessagePayloads[T], id: string } {
  return nodeMessages.checked(domain, type, message)
}

/** Signs a payload with one key (synchronously; the key never leaves the caller). */
export function signPayload<T extends MessageType> (wallet: Pick<Wallet, 'signingKey'>, domain: LilypadDomain, type: T, message: MessagePayloads[T]): string {
  return signDigest(wallet.signingKey, messageId(domain, type, message))
}

/** Builds a signed envelope. For a Deal, pass the co-signature already collected (if any). */
export function signMessage<T extends MessageType> (
  wallet: Pick<Wallet, 'signingKey' | 'address'>, domain: LilypadDomain, type: T, message: MessagePayloads[T], existing: string[] = []
): Envelope<T> {
  return nodeMessages.sign(wallet, domain, type, message, existing)
}

/** Checks an envelope as a node does (see `Messages.verify`). Throws MessageError. */
export function verifyEnvelope (domain: LilypadDomain, envelope: unknown, options: VerifyOptions = {}): Verified {
  return nodeMessages.verify(domain, envelope, options)
}
