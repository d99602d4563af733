/**
 * What the fuzzer feeds, and what counts as a finding. Every target takes what a peer or a file can
 * hand a node (a gossiped envelope, a direct frame, a head notice, a stored log record, a module
 * template) as bytes or JSON, mostly valid inputs with one part mutated, and runs the code that
 * meets them. Refusing an input with the code's own error is what it should do; any other throw is
 * a crash. A fast path that accepts what zod refuses, or gives another output, is a disagreement.
 */
import { createHash } from 'node:crypto'
import * as dagPb from '@ipld/dag-pb'
import fc from 'fast-check'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { z } from 'zod'
import { decodeAndVerify } from '../src/protocols/messages/codec.ts'
import { isMessageError } from '../src/protocols/messages/errors.ts'
import { fastParseOf } from '../src/protocols/messages/fast-parse.ts'
import { MESSAGE_SCHEMAS } from '../src/protocols/messages/schemas.ts'
import type { Envelope } from '../src/protocols/messages/envelope.ts'
import type { MessageType } from '../src/protocols/messages/eip712-types.ts'
import { headSigner, isSignedHead } from '../src/protocols/messages/log-head.ts'
import { decodeDirectMessage } from '../src/protocols/mesh/direct-messages.ts'
import { isMeshError } from '../src/protocols/mesh/errors.ts'
import { peerIdOfKey } from '../src/protocols/mesh/peer-identity.ts'
import { DIRECT_PROTOCOLS, type DirectHandler, type DirectProtocols } from '../src/protocols/mesh/direct.ts'
import type { LiveOffer } from '../src/protocols/mesh/mesh-state.ts'
import { fetchOffers, serveOffers } from '../src/protocols/mesh/offer-sync.ts'
import { linksOf } from '../src/executor/results/prefetch.ts'
import { LogIntegrityError, openRecord, sealRecord } from '../src/actors/eventlog/record.ts'
import { signCheckpoint } from '../src/actors/eventlog/checkpoint.ts'
import { executeModuleTemplate, parseModuleTemplate, TemplateError } from '../src/executor/template/index.ts'
import { domain, parties, scenario, T0 } from '../test/unit/state-machines/fixtures.ts'

/** Something the code under test got wrong: a crash, a disagreement, an input that took too long or allocated too much. */
export class Finding extends Error {
  constructor (readonly kind: 'crash' | 'disagreement' | 'slow' | 'allocation', message: string, readonly thrown?: unknown) {
    super(message)
  }
}

export interface FuzzTarget<T = unknown> {
  name: string
  what: string
  input: fc.Arbitrary<T>
  async?: false
  /** runs one input; throws a Finding for a bug, returns for an input handled as it should be */
  run: (input: T) => void
}

/** A target whose code under test is asynchronous: its inputs run one after another all the same. */
export interface AsyncFuzzTarget<T = unknown> extends Omit<FuzzTarget<T>, 'async' | 'run'> {
  async: true
  run: (input: T) => Promise<void>
}

/** One input may take this long at most: a decoder or parser slower than that on a small input is a hang waiting to happen. */
export const SLOW_MS = 2000

const s = scenario()
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const SIGNED: Array<{ type: MessageType, envelope: Envelope }> = [
  { type: 'JobOffer', envelope: s.jobEnv },
  { type: 'ResourceOffer', envelope: s.offerEnv },
  { type: 'MatchProposal', envelope: s.propEnv },
  { type: 'Deal', envelope: s.dealEnv },
  { type: 'Deal', envelope: s.halfSigned },
  { type: 'ResultsSubmitted', envelope: s.results },
  { type: 'ResultsAccepted', envelope: s.accepted },
  { type: 'ResultsChallenged', envelope: s.challenged },
  { type: 'MediationVerdict', envelope: s.verdict(true) }
]

/** Values on and across the edges of the schemas' checks, and shapes no check expects. */
const edgy: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    '', '0', '-1', '1e3', '0x', '0x10', ' 5', '9'.repeat(80), '0x' + 'ab'.repeat(20), '0x' + 'AB'.repeat(32), s.cid, 'x'.repeat(300),
    0, -0, -1, 1.5, 2 ** 53, -(2 ** 53), NaN, Infinity, null, true, false, [], {}, { __proto__: { polluted: 1 } }, { constructor: 1 },
    'constructor', '__proto__', 'toString'
  ),
  fc.string({ maxLength: 64, size: 'max' }),
  fc.integer(),
  fc.double(),
  fc.bigInt().map(b => b.toString()),
  fc.array(fc.string({ maxLength: 8 }), { maxLength: 20 }),
  fc.json({ depthSize: 'small' }).map(j => JSON.parse(j) as unknown)
)

/** A JSON value nested `depth` deep, of arrays or objects. */
const deep = fc.tuple(fc.integer({ min: 1, max: 5000 }), fc.boolean()).map(([depth, arrays]) => {
  const open = arrays ? '['.repeat(depth) : '{"a":'.repeat(depth)
  const close = arrays ? ']'.repeat(depth) : '}'.repeat(depth)
  return `${open}1${close}`
})

type Mutation = { kind: 'set' | 'add', path: string, value: unknown } | { kind: 'delete', path: string }

/** A deep copy of a JSON value with one member, at any depth, set, added or deleted. */
function mutated (value: unknown, m: Mutation): unknown {
  const copy = JSON.parse(JSON.stringify(value)) as Record<string, unknown>
  const keys = m.path.split('.')
  let at: Record<string, unknown> = copy
  for (const key of keys.slice(0, -1)) {
    const next = at[key]
    if (next === null || typeof next !== 'object') return copy
    at = next as Record<string, unknown>
  }
  const last = keys[keys.length - 1]!
  if (m.kind === 'delete') delete at[last]
  else at[last] = m.value
  return copy
}

/** Every path to a member of a JSON value, `a.b.0` for nested ones. */
function pathsOf (value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => [prefix + k, ...pathsOf(v, `${prefix}${k}.`)])
}

function mutationOf (value: unknown): fc.Arbitrary<Mutation> {
  const paths = pathsOf(value)
  return fc.oneof(
    fc.record({ kind: fc.constant('set' as const), path: fc.constantFrom(...paths), value: edgy }),
    fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...paths) }),
    fc.record({ kind: fc.constant('add' as const), path: fc.constantFrom('extra', 'message.extra', 'message.__proto__', 'signatures.9'), value: edgy })
  )
}

/** Mutations of a text: bytes flipped, cut short, spliced with other text, repeated. */
function textMutation (text: string): fc.Arbitrary<string> {
  const n = text.length
  return fc.oneof(
    fc.tuple(fc.nat(n), fc.string({ minLength: 1, maxLength: 4 })).map(([i, t]) => text.slice(0, i) + t + text.slice(i + t.length)),
    fc.nat(n).map(i => text.slice(0, i)),
    fc.tuple(fc.nat(n), fc.string({ maxLength: 40, size: 'max' })).map(([i, t]) => text.slice(0, i) + t + text.slice(i)),
    fc.tuple(fc.nat(n), fc.nat(n)).map(([a, b]) => text.slice(0, Math.min(a, b)) + text.slice(Math.max(a, b))),
    fc.tuple(fc.nat(n), fc.integer({ min: 2, max: 50 })).map(([i, k]) => text.slice(0, i) + text.slice(i, i + 20).repeat(k) + text.slice(i))
  )
}

/** A signed envelope, mutated in one member or in its text, as bytes. */
const envelopeBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constantFrom(...SIGNED).chain(({ envelope }) => mutationOf(envelope).map(m => encoder.encode(JSON.stringify(mutated(envelope, m))))),
  fc.constantFrom(...SIGNED).chain(({ envelope }) => textMutation(JSON.stringify(envelope)).map(t => encoder.encode(t))),
  deep.map(t => encoder.encode(`{"type":"JobOffer","message":${t},"signatures":[]}`)),
  fc.uint8Array({ maxLength: 512, size: 'max' })
)

function refused (what: string, err: unknown, expected: (err: unknown) => boolean): void {
  if (err instanceof Finding) throw err
  if (!expected(err)) throw new Finding('crash', `${what} threw ${(err as Error)?.name ?? typeof err}: ${(err as Error)?.message ?? String(err)}`, err)
}

function timed (what: string, start: number): void {
  const ms = performance.now() - start
  if (ms > SLOW_MS) throw new Finding('slow', `${what} took ${Math.round(ms)} ms on one input`)
}

/** Runs `fn`, calling a throw that `expected` does not know a crash, and a run over SLOW_MS slow. */
function guarded (what: string, fn: () => void, expected: (err: unknown) => boolean): void {
  const start = performance.now()
  try {
    fn()
  } catch (err) {
    refused(what, err, expected)
  }
  timed(what, start)
}

async function guardedAsync (what: string, fn: () => Promise<void>, expected: (err: unknown) => boolean): Promise<void> {
  const start = performance.now()
  try {
    await fn()
  } catch (err) {
    refused(what, err, expected)
  }
  timed(what, start)
}

const envelopeTarget: FuzzTarget<Uint8Array> = {
  name: 'envelope',
  what: 'gossiped message bytes through decodeAndVerify (size, UTF-8, JSON, schema, signatures)',
  input: envelopeBytes,
  run: bytes => { guarded('decodeAndVerify', () => { decodeAndVerify(domain, bytes, { now: T0, partial: true }) }, err => isMessageError(err)) }
}

/** zod's output and the fast path's, compared as JSON text (both produce plain JSON values). */
function sameOutput (a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

const schemaTarget: FuzzTarget<{ type: MessageType, value: unknown }> = {
  name: 'fast-paths',
  what: 'every message schema\'s fast path held to zod on mutated payloads: what it accepts, zod accepts alike',
  input: fc.constantFrom(...SIGNED).chain(({ type, envelope }) => mutationOf(envelope.message).map(m => ({ type, value: mutated(envelope.message, m) }))),
  run: ({ type, value }) => {
    const schema = MESSAGE_SCHEMAS[type] as z.ZodType
    const fast = fastParseOf(schema)
    let fastOut: unknown
    guarded(`the ${type} fast path`, () => { fastOut = fast?.(structuredClone(value)) }, () => false)
    let zodOut: ReturnType<typeof schema.safeParse> | undefined
    guarded(`the ${type} schema`, () => { zodOut = schema.safeParse(structuredClone(value)) }, () => false)
    if (fastOut === undefined) return
    if (zodOut?.success !== true) throw new Finding('disagreement', `the ${type} fast path accepts what zod refuses (${zodOut?.error?.issues[0]?.message ?? '?'}): ${JSON.stringify(value).slice(0, 300)}`)
    if (!sameOutput(fastOut, zodOut.data)) throw new Finding('disagreement', `the ${type} fast path's output differs from zod's: ${JSON.stringify(value).slice(0, 300)}`)
  }
}

const sender = peerIdOfKey(parties.resourceProvider.privateKey)
const head = signCheckpoint({ address: parties.resourceProvider.address, signDigest: d => parties.resourceProvider.signingKey.sign(d).serialized }, 7, 'ab'.repeat(32))
const FRAMES = [
  { envelope: s.results, attachments: [], head },
  { envelope: s.challenged, attachments: [s.dealEnv], head },
  { envelope: s.halfSigned, attachments: [s.propEnv, s.jobEnv, s.offerEnv] }
]

const directTarget: FuzzTarget<Uint8Array> = {
  name: 'direct-frame',
  what: 'direct-protocol frames (envelope, attachments, signed head) through decodeDirectMessage',
  input: fc.oneof(
    fc.constantFrom(...FRAMES).chain(frame => mutationOf(frame).map(m => encoder.encode(JSON.stringify(mutated(frame, m))))),
    fc.constantFrom(...FRAMES).chain(frame => textMutation(JSON.stringify(frame)).map(t => encoder.encode(t))),
    deep.map(t => encoder.encode(`{"envelope":${t}}`)),
    fc.uint8Array({ maxLength: 512, size: 'max' })
  ),
  run: frame => { guarded('decodeDirectMessage', () => { decodeDirectMessage(domain, frame, sender, T0) }, err => isMeshError(err)) }
}

const headTarget: FuzzTarget<unknown> = {
  name: 'head',
  what: 'signed log heads as a peer sends them: isSignedHead and headSigner never throw',
  input: fc.oneof(mutationOf(head).map(m => mutated(head, m)), edgy),
  run: value => {
    guarded('isSignedHead', () => { if (isSignedHead(value)) headSigner(value) }, () => false)
  }
}

const stored = (() => {
  const { record } = sealRecord({ v: 1, seq: 1, at: T0, type: 'genesis', data: { node: parties.jobCreator.address, schema: 1 }, prev: '0'.repeat(64) })
  return [
    sealRecord({ v: 1, seq: 2, at: T0, type: 'input', data: { stream: 'job:1', event: { type: 'message.received', envelope: s.results as never, at: T0 } }, prev: record.hash }).stored,
    sealRecord({ v: 1, seq: 2, at: T0, type: 'checkpoint', data: head, prev: record.hash }).stored
  ]
})()

const recordTarget: FuzzTarget<string> = {
  name: 'log-record',
  what: 'stored event-log records, mutated, through openRecord (decode, shape, seq, hash)',
  input: fc.oneof(fc.constantFrom(...stored).chain(textMutation), deep, fc.string({ maxLength: 200, size: 'max' })),
  run: text => { guarded('openRecord', () => { openRecord(text, 2) }, err => err instanceof LogIntegrityError) }
}

const TEMPLATES = [
  '{"machine":{"gpu":0,"cpu":1000,"ram":100},"job":{"APIVersion":"V1beta1","Spec":{"Deal":{"Concurrency":1},"Docker":{"Entrypoint":["cowsay",{{.Message}}],"Image":"grycap/cowsay:latest"},"Engine":"Docker","Network":{"Type":"None"},"PublisherSpec":{"Type":"ipfs"},"Resources":{"GPU":""},"Timeout":1800,"Verifier":"Noop"}}}',
  '{{ if .Prompt }}{"p":{{ .Prompt }}}{{ else }}{"p":"none"}{{ end }}',
  '{"list":[{{ range $i, $x := .Items }}{{ if $i }},{{ end }}{{ $x | printf "%q" }}{{ end }}]}',
  '{"seed":{{ or .Seed "42" }},"s":"{{ subst "a-b" "-" "_" }}","n":{{ len .Name }}}',
  '{{ define "t" }}{"x":1}{{ end }}{{ template "t" . }}'
]

const templateTarget: FuzzTarget<{ text: string, inputs: Record<string, string> }> = {
  name: 'template',
  what: 'module templates, mutated, parsed and run under the step and output budgets a node renders with',
  input: fc.record({
    text: fc.oneof(fc.constantFrom(...TEMPLATES).chain(textMutation), fc.constantFrom('{{range 9223372036854775807}}x{{end}}', '{{ printf "%0999999999d" 1 }}'), fc.string({ maxLength: 120, size: 'max' })),
    inputs: fc.dictionary(fc.constantFrom('Message', 'Prompt', 'Items', 'Seed', 'Name'), fc.string({ maxLength: 40 }), { maxKeys: 3 })
  }),
  run: ({ text, inputs }) => {
    guarded('the template', () => {
      executeModuleTemplate(parseModuleTemplate('fuzz', text), inputs, { maxSteps: 100_000, maxOutputBytes: 1 << 20 })
    }, err => err instanceof TemplateError)
  }
}

/** Live offers, 20 of each kind (more than one page of OFFER_FRAME_BYTES), as a peer serves them. */
const LIVE: LiveOffer[] = [s.offerEnv, s.jobEnv].flatMap((envelope, k) => Array.from({ length: 20 }, (_, i) => ({
  topic: k === 0 ? 'resource-offers' as const : 'job-offers' as const,
  type: envelope.type,
  id: `${k}-${String(i).padStart(2, '0')}`,
  author: parties.resourceProvider.address,
  key: `${k}-${i}`,
  nonce: BigInt(i),
  expiry: T0 + 3600,
  bytes: encoder.encode(JSON.stringify(envelope)),
  own: false,
  message: envelope.message as LiveOffer['message']
})))
const OFFER_FRAME_BYTES = 16 * 1024
const offersHandler = (() => {
  let handler: DirectHandler | undefined
  void serveOffers({ handle: async (_: string, h: DirectHandler) => { handler = h } } as unknown as DirectProtocols, () => [...LIVE], OFFER_FRAME_BYTES)
  return handler!
})()

const offerRequestTarget: FuzzTarget<Uint8Array> = {
  name: 'offer-request',
  what: 'offer sync requests ({ cursor }) through the handler serveOffers registers',
  input: fc.oneof(
    fc.oneof(fc.integer({ min: -2, max: 45 }), edgy).map(cursor => encoder.encode(JSON.stringify({ cursor }))),
    textMutation('{"cursor":20}').map(t => encoder.encode(t)),
    deep.map(t => encoder.encode(`{"cursor":${t}}`)),
    edgy.map(v => encoder.encode(JSON.stringify(v) ?? '')),
    fc.uint8Array({ maxLength: 256, size: 'max' })
  ),
  run: frame => {
    guarded('the offer sync handler', () => {
      const page = offersHandler({ protocol: DIRECT_PROTOCOLS.offers, peer: sender, frame, signal: new AbortController().signal })
      if (!(page instanceof Uint8Array)) throw new Finding('crash', 'the offer sync handler answered asynchronously')
    }, err => isMeshError(err))
  }
}

/** Offers a requester takes at most in the offer-pages target. */
const MAX_SYNCED = 5
/** An honest page of the offer sync: LIVE from `from`, and the cursor of the next page. */
const honestPage = (from: number, count: number): { offers: unknown[], next: unknown } =>
  ({ offers: LIVE.slice(from, from + count).map(o => ({ topic: o.topic, data: decoder.decode(o.bytes) })), next: from + count < LIVE.length ? from + count : null })
const PAGES = [honestPage(0, 3), honestPage(3, 1), honestPage(38, 2), { offers: [], next: null }]

const offerPagesTarget: AsyncFuzzTarget<{ pages: string[], advance: number | null }> = {
  name: 'offer-pages',
  async: true,
  what: `offer sync pages a peer answers through fetchOffers, which ends within ${MAX_SYNCED + 1} pages for ${MAX_SYNCED} offers`,
  input: fc.record({
    pages: fc.array(fc.oneof(
      fc.constantFrom(...PAGES).chain(page => mutationOf(page).map(m => JSON.stringify(mutated(page, m)))),
      fc.constantFrom(...PAGES).chain(page => textMutation(JSON.stringify(page))),
      deep.map(t => `{"offers":${t},"next":1}`),
      edgy.map(v => JSON.stringify(v) ?? ''),
      fc.string({ maxLength: 64, size: 'max' })
    ), { minLength: 1, maxLength: 4 }),
    // once its pages are answered, the peer answers empty pages that point further on, or the end
    advance: fc.option(fc.integer({ min: 1, max: 3 }))
  }),
  run: async ({ pages, advance }) => {
    let asked = 0
    const direct = {
      send: async (_peer: unknown, _protocol: string, frame: Uint8Array): Promise<Uint8Array> => {
        if (++asked > MAX_SYNCED + 1) throw new Finding('slow', `fetchOffers asked for page ${asked} to take at most ${MAX_SYNCED} offers: a peer can keep it asking`)
        if (asked <= pages.length) return encoder.encode(pages[asked - 1]!)
        const { cursor } = JSON.parse(decoder.decode(frame)) as { cursor: number }
        return encoder.encode(JSON.stringify({ offers: [], next: advance === null ? null : cursor + advance }))
      }
    } as unknown as DirectProtocols
    await guardedAsync('fetchOffers', () => fetchOffers(direct, sender, MAX_SYNCED, {}, () => {}), err => isMeshError(err))
  }
}

/** A block as the results exchange moves it, with the CID a holder names it by: sha-256, dag-pb or raw, v0 or v1. */
function framed (block: Uint8Array, code: number, version: 0 | 1): Uint8Array {
  const digest = Digest.create(0x12, createHash('sha256').update(block).digest())
  const cid = version === 0 && code === dagPb.code ? CID.createV0(digest) : CID.createV1(code, digest)
  return Buffer.concat([cid.bytes, block])
}

const LEAF = dagPb.encode({ Data: new UnixFS({ type: 'file', data: encoder.encode('hello') }).marshal(), Links: [] })
const LEAF_CID = CID.parse(s.cid)
const folder = (links: number): Uint8Array => dagPb.encode(dagPb.prepare({
  Data: new UnixFS({ type: 'directory' }).marshal(),
  Links: Array.from({ length: links }, (_, i) => ({ Hash: i % 2 === 0 ? LEAF_CID : CID.createV1(0x55, LEAF_CID.multihash), Name: `f${i}`, Tsize: 13 }))
}))
const BLOCKS = [LEAF, folder(1), folder(3), folder(200)]
/** Bytes to and from a string of one char a byte, so that textMutation mutates them. */
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1')
const unlatin1 = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'latin1'))

const resultsFrameTarget: FuzzTarget<Uint8Array> = {
  name: 'results-frame',
  what: 'results-blocks answer frames (a CID, then a block that hashes to it) through CID.decodeFirst and linksOf, as fetchBlocks reads them: it aborts on any error, so only a slow or allocating frame is a finding',
  input: fc.oneof(
    fc.tuple(fc.constantFrom(...BLOCKS).chain(block => fc.oneof(fc.constant(block), textMutation(latin1(block)).map(unlatin1))), fc.constantFrom(dagPb.code, 0x55), fc.constantFrom(0 as const, 1 as const))
      .map(([block, code, version]) => framed(block, code, version)),
    fc.constantFrom(...BLOCKS).chain(block => textMutation(latin1(framed(block, dagPb.code, 1))).map(unlatin1)),
    fc.uint8Array({ maxLength: 512, size: 'max' })
  ),
  run: frame => {
    guarded('a results frame', () => {
      const [cid, block] = CID.decodeFirst(frame)
      for (const link of linksOf(cid, block)) link.toString()
    }, err => err instanceof Error)
  }
}

/** A target whose input type is forgotten, to be listed with the others. */
function listed<T> (target: FuzzTarget<T>): FuzzTarget
function listed<T> (target: AsyncFuzzTarget<T>): AsyncFuzzTarget
function listed<T> (target: FuzzTarget<T> | AsyncFuzzTarget<T>): FuzzTarget | AsyncFuzzTarget {
  return target as unknown as FuzzTarget | AsyncFuzzTarget
}

export const TARGETS: ReadonlyArray<FuzzTarget | AsyncFuzzTarget> = [
  listed(envelopeTarget), listed(schemaTarget), listed(directTarget), listed(headTarget), listed(recordTarget), listed(templateTarget),
  listed(offerRequestTarget), listed(offerPagesTarget), listed(resultsFrameTarget)
]
