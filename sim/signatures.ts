/**
 * Signing for the simulator, in one of two modes:
 * - `ecdsa`: every message is signed with the node's secp256k1 key (EIP-712, as the real nodes do)
 *   and the machines verify it by key recovery. Correct, and about 1 ms per signature and several
 *   per verification: right for small runs and the invariant tests.
 * - `fast`: a stand-in that keeps every check the machines make but costs microseconds. A signature
 *   is the message's EIP-712 hash followed by the signer's index; while the stand-in is installed,
 *   key recovery returns that index's public key when the hash matches (and falls back to real
 *   recovery otherwise). A wrong author, a changed message or a missing signature is still
 *   rejected, exactly as before; what is lost is only unforgeability, which no simulated party
 *   attacks. Used for runs at scale.
 */
import { keccak256, SigningKey, TypedDataEncoder, Wallet } from 'ethers'
import { lilypadDomain, type LilypadDomain, type MessageType } from '../src/protocols/messages/eip712-types.ts'
import { signersOf, type Envelope } from '../src/protocols/messages/envelope.ts'
import { MessageError } from '../src/protocols/messages/errors.ts'
import type { MessagePayloads } from '../src/protocols/messages/schemas.ts'
import { setChecksumMemoLimit } from '../src/protocols/messages/fields.ts'
import { setAddressMemoLimit, setSignerShortcut } from '../src/protocols/messages/recover-signer.ts'
import { checkedPayload, messageId, setMessageMemoLimit, setSharedPayloads, shareEnvelope, signMessage } from '../src/protocols/messages/signing.ts'
import type { DomainJson } from '../src/state-machines/index.ts'
import type { Identity } from './identities.ts'

export type SignatureMode = 'ecdsa' | 'fast'
export const SIGNATURE_MODES: readonly SignatureMode[] = ['ecdsa', 'fast']

export interface Signed<T extends MessageType = MessageType> {
  id: string
  envelope: Envelope<T>
}

export class Signer {
  private readonly wallets = new Map<number, Wallet>()
  readonly domain: LilypadDomain

  constructor (readonly mode: SignatureMode, domain: DomainJson) {
    this.domain = lilypadDomain(BigInt(domain.chainId), domain.verifyingContract)
  }

  sign<T extends MessageType> (who: Identity, type: T, message: MessagePayloads[T], existing: string[] = []): Signed<T> {
    if (this.mode === 'ecdsa') {
      const envelope = signMessage(this.wallet(who), this.domain, type, message, existing)
      return { id: messageId(this.domain, type, envelope.message), envelope: shareEnvelope(envelope) }
    }
    const { payload, id } = checkedPayload(this.domain, type, message)
    const signers = signersOf(type, payload)
    const index = signers.indexOf(who.address)
    if (index < 0) throw new MessageError('WRONG_SIGNER', `${who.address} is not an author of this ${type}`)
    const signatures = signers.map((_, i) => i === index ? fastSignature(id, who.index) : existing[i])
    while (signatures.length > 0 && signatures[signatures.length - 1] === undefined) signatures.pop()
    if (signatures.includes(undefined)) throw new MessageError('MISSING_SIGNATURE', `${type} must be signed by ${signers[0]} first`)
    return { id, envelope: shareEnvelope({ type, message: payload, signatures: signatures as string[] }) }
  }

  private wallet (who: Identity): Wallet {
    let w = this.wallets.get(who.index)
    if (w === undefined) this.wallets.set(who.index, w = new Wallet(who.privateKey))
    return w
  }
}

/** r = the digest, s = the signer's index + 1, v = 27. */
export function fastSignature (digest: string, index: number): string {
  return digest.toLowerCase() + (index + 1).toString(16).padStart(64, '0') + '1b'
}

type Recover = typeof SigningKey.recoverPublicKey

/** 65 bytes whose v is one ethers accepts (27, 28, 0, 1, or an EIP-155 value of 35 or more) */
const READABLE = /^0x[0-9a-f]{128}(1[bc]|0[01]|2[3-9a-f]|[3-9a-f][0-9a-f])$/i
type Hash = typeof TypedDataEncoder.hash
/** a digest as the protocol's hash writes it */
const LOWER_DIGEST = /^0x[0-9a-f]{64}$/

/**
 * Installs the run's accelerators and returns a function that removes them:
 * - the EIP-712 hash is memoised by content and reuses one encoder per type set (identical
 *   results: the same ethers code computes them, only once);
 * - with `fast` signatures, key recovery understands the stand-in signatures of these identities,
 *   and one exactly as `fastSignature` writes it is read for its signer's address directly;
 * - the protocol's messages travel as one frozen payload among all the nodes (see
 *   `setSharedPayloads`), so a message met again is known by identity: the message memos
 *   keep a node's size (memos of 40,000 messages made the heap larger and every collection slower,
 *   and the simulator about 15% slower at 10k nodes), while the address checksum memo holds every
 *   identity's address (one process meets every node's).
 */
export function installAccelerators (options: { identities?: readonly Identity[], memoLimit?: number } = {}): () => void {
  const originalHash: Hash = TypedDataEncoder.hash
  const originalRecover: Recover = SigningKey.recoverPublicKey
  const limit = options.memoLimit ?? 4_096
  const previousMessageMemoLimit = setMessageMemoLimit(limit)
  // the memos keep two generations and drop the older whole: room for four times the identities lets
  // the newer one alone hold every identity's address
  const addressLimit = Math.max(limit, 4 * (options.identities?.length ?? 0))
  setChecksumMemoLimit(addressLimit)
  setAddressMemoLimit(addressLimit)
  const previousShared = setSharedPayloads(true)
  const encoders = new Map<string, TypedDataEncoder>()
  const domains = new Map<string, string>()
  const memo = new Map<string, string>()

  // one key per type set: its struct names and field names and types, computed once per types object
  const typeKeys = new WeakMap<object, string>()
  const typesKeyOf = (types: Record<string, Array<{ name: string, type: string }>>): string => {
    let key = typeKeys.get(types)
    if (key === undefined) {
      key = Object.keys(types).map(t => `${t}(${(types[t] ?? []).map(f => `${f.type} ${f.name}`).join(',')})`).join('')
      typeKeys.set(types, key)
    }
    return key
  }

  const hash: Hash = (domain, types, value) => {
    let key: string
    let typesKey: string
    try {
      typesKey = typesKeyOf(types as Record<string, Array<{ name: string, type: string }>>)
      key = `${String(domain.chainId)}|${String(domain.verifyingContract)}|${String(domain.name)}|${String(domain.version)}|${typesKey}|${JSON.stringify(value)}`
    } catch {
      return originalHash(domain, types, value)
    }
    const hit = memo.get(key)
    if (hit !== undefined) return hit
    let encoder = encoders.get(typesKey)
    if (encoder === undefined) encoders.set(typesKey, encoder = TypedDataEncoder.from(types))
    const domainKey = `${String(domain.chainId)}|${String(domain.verifyingContract)}|${String(domain.name)}|${String(domain.version)}|${String(domain.salt)}`
    let domainHash = domains.get(domainKey)
    if (domainHash === undefined) domains.set(domainKey, domainHash = TypedDataEncoder.hashDomain(domain))
    const digest = keccakOf(domainHash, encoder.hash(value))
    if (memo.size >= limit) memo.delete(memo.keys().next().value as string)
    memo.set(key, digest)
    return digest
  }
  TypedDataEncoder.hash = hash

  // Addresses are checksummed (a keccak each) every time a message is parsed: memoise short inputs.
  const shortHashes = new Map<string, Uint8Array>()
  keccak256.register((data: Uint8Array) => {
    if (data.length > 64) return keccak256._(data)
    const key = Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1')
    let out = shortHashes.get(key)
    if (out === undefined) {
      if (shortHashes.size >= addressLimit) shortHashes.clear()
      shortHashes.set(key, out = keccak256._(data))
    }
    return out
  })

  const identities = options.identities
  let previousShortcut: ReturnType<typeof setSignerShortcut> = null
  if (identities !== undefined) {
    const addresses = identities.map(i => i.address.toLowerCase())
    // a stand-in signature exactly as `fastSignature` writes it names its signer: read without regexes,
    // case changes or key memo (any other form goes on to the recovery below, which reads every form)
    previousShortcut = setSignerShortcut((digest, signature) => {
      if (signature.length !== 132 || !LOWER_DIGEST.test(digest)) return undefined
      const index = parseInt(signature.slice(114, 130), 16) - 1
      return addresses[index] !== undefined && signature === fastSignature(digest, index) ? addresses[index] : undefined
    })
    SigningKey.recoverPublicKey = ((digest, signature) => {
      // a signature as text is taken only in a form ethers' Signature.from reads (65 bytes, a valid v)
      const sig = typeof signature === 'string'
        ? (READABLE.test(signature) ? { r: signature.slice(0, 66), s: '0x' + signature.slice(66, 130) } : {})
        : signature as { r?: unknown, s?: unknown }
      if (typeof digest === 'string' && typeof sig.r === 'string' && typeof sig.s === 'string' &&
          sig.r.toLowerCase() === digest.toLowerCase() && /^0x0{48}[0-9a-f]{16}$/i.test(sig.s)) {
        const who = identities[parseInt(sig.s.slice(50), 16) - 1]
        if (who !== undefined) return who.publicKey
      }
      return originalRecover(digest, signature)
    }) as Recover
  }
  return () => {
    TypedDataEncoder.hash = originalHash
    keccak256.register(keccak256._)
    SigningKey.recoverPublicKey = originalRecover
    setSignerShortcut(previousShortcut)
    setMessageMemoLimit(previousMessageMemoLimit)
    setSharedPayloads(previousShared)
  }
}

function keccakOf (domainHash: string, structHash: string): string {
  return keccak256('0x1901' + domainHash.slice(2) + structHash.slice(2))
}
