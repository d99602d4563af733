/**
 * Signing for the simulator, in one of two modes:
 * - `ecdsa`: every message is signed with the node's secp256k1 key (EIP-712, as the real nodes do)
 *   and the machines verify it by key recovery. Correct, and about 1 ms per signature and several
 *   per verification: right for small runs and the invariant tests.
 * - `fast`: a stand-in that keeps every check the machines make but costs microseconds. A signature
 *   is the message's EIP-712 hash followed by the signer's index; the run's `Messages` reads that
 *   index's address when the hash matches (its signer shortcut; any other signature goes to real
 *   recovery). A wrong author, a changed message or a missing signature is still
 *   rejected, exactly as before; what is lost is only unforgeability, which no simulated party
 *   attacks. Used for runs at scale.
 */
import { Wallet } from 'ethers'
import { lilypadDomain, type LilypadDomain, type MessageType } from '../src/protocols/messages/eip712-types.ts'
import { signersOf, type Envelope } from '../src/protocols/messages/envelope.ts'
import { MessageError } from '../src/protocols/messages/errors.ts'
import type { MessagePayloads } from '../src/protocols/messages/schemas.ts'
import { Messages, type SignerShortcut } from '../src/protocols/messages/signing.ts'
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

  constructor (readonly mode: SignatureMode, domain: DomainJson, private readonly messages: Messages) {
    this.domain = lilypadDomain(BigInt(domain.chainId), domain.verifyingContract)
  }

  sign<T extends MessageType> (who: Identity, type: T, message: MessagePayloads[T], existing: string[] = []): Signed<T> {
    if (this.mode === 'ecdsa') {
      const envelope = this.messages.sign(this.wallet(who), this.domain, type, message, existing)
      return { id: this.messages.id(this.domain, type, envelope.message), envelope: this.messages.share(envelope) }
    }
    const { payload, id } = this.messages.checked(this.domain, type, message)
    const signers = signersOf(type, payload)
    const index = signers.indexOf(who.address)
    if (index < 0) throw new MessageError('WRONG_SIGNER', `${who.address} is not an author of this ${type}`)
    const signatures = signers.map((_, i) => i === index ? fastSignature(id, who.index) : existing[i])
    while (signatures.length > 0 && signatures[signatures.length - 1] === undefined) signatures.pop()
    if (signatures.includes(undefined)) throw new MessageError('MISSING_SIGNATURE', `${type} must be signed by ${signers[0]} first`)
    return { id, envelope: this.messages.share({ type, message: payload, signatures: signatures as string[] }) }
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

/** a digest as the protocol's hash writes it */
const LOWER_DIGEST = /^0x[0-9a-f]{64}$/

/**
 * A stand-in signature exactly as `fastSignature` writes it names its signer; any other form goes
 * on to real key recovery, which finds no simulated identity in it.
 */
export function standInSigners (identities: readonly Identity[]): SignerShortcut {
  const addresses = identities.map(i => i.address.toLowerCase())
  return (digest, signature) => {
    if (signature.length !== 132 || !LOWER_DIGEST.test(digest)) return undefined
    const index = parseInt(signature.slice(114, 130), 16) - 1
    return addresses[index] !== undefined && signature === fastSignature(digest, index) ? addresses[index] : undefined
  }
}

/**
 * The run's messages, which every party's machine checks messages with:
 * - they travel as one frozen payload among all the nodes (shared payloads), so a message met
 *   again is known by identity, and the memos keep a node's size (memos of 40,000 messages made
 *   the heap larger and every collection slower, and the simulator about 15% slower at 10k nodes);
 * - with `fast` signatures, the stand-ins are read for their signers (`standInSigners`).
 */
export function simMessages (mode: SignatureMode, identities: readonly Identity[]): Messages {
  return new Messages({ sharedPayloads: true, ...(mode === 'fast' ? { signerShortcut: standInSigners(identities) } : {}) })
}
