/**
 * Signing for the simulator, in one of two modes:
 * - `ecdsa`: every message is signed with the node's secp256k1 key (EIP-712, as the real nodes do)
 *   and the machines verify it by key recovery. Correct, and about 1 ms per signature and several
 *   per verification: right for small runs and the invariant tests.
 * - `fast`: a stand-in that keeps every check the machines make but costs microseconds. A signature
 *   is the message's EIP-712 hash followed by the signer's index; while the stand-in is installed,
 *   the protocol's signer shortcut reads that index's address when the hash matches (any other
 *   signature goes to real recovery). A wrong author, a changed message or a missing signature is still
 *   rejected, exactly as before; what is lost is only unforgeability, which no simulated party
 *   attacks. Used for runs at scale.
 */
import { Wallet } from 'ethers'
import { lilypadDomain, type LilypadDomain, type MessageType } from '../src/protocols/messages/eip712-types.ts'
import { signersOf, type Envelope } from '../src/protocols/messages/envelope.ts'
import { MessageError } from '../src/protocols/messages/errors.ts'
import type { MessagePayloads } from '../src/protocols/messages/schemas.ts'
import { setChecksumMemoLimit } from '../src/protocols/messages/fields.ts'
import { setSignerShortcut } from '../src/protocols/messages/recover-signer.ts'
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

/** a digest as the protocol's hash writes it */
const LOWER_DIGEST = /^0x[0-9a-f]{64}$/

/**
 * Installs the run's accelerators and returns a function that removes them. None replaces any
 * part of a library: the protocol's own hooks take them.
 * - with `fast` signatures, a stand-in signature exactly as `fastSignature` writes it is read for
 *   its signer's address (the signer shortcut of recover-signer.ts); any other form goes on to
 *   real key recovery, which finds no simulated identity in it;
 * - the protocol's messages travel as one frozen payload among all the nodes (see
 *   `setSharedPayloads`), so a message met again is known by identity: the message memos
 *   keep a node's size (memos of 40,000 messages made the heap larger and every collection slower,
 *   and the simulator about 15% slower at 10k nodes), while the address checksum memo holds every
 *   identity's address (one process meets every node's).
 */
export function installAccelerators (options: { identities?: readonly Identity[], memoLimit?: number } = {}): () => void {
  const limit = options.memoLimit ?? 4_096
  const previousMessageMemoLimit = setMessageMemoLimit(limit)
  // the memos keep two generations and drop the older whole: room for four times the identities lets
  // the newer one alone hold every identity's address
  const addressLimit = Math.max(limit, 4 * (options.identities?.length ?? 0))
  setChecksumMemoLimit(addressLimit)
  const previousShared = setSharedPayloads(true)

  const identities = options.identities
  let previousShortcut: ReturnType<typeof setSignerShortcut> = null
  if (identities !== undefined) {
    const addresses = identities.map(i => i.address.toLowerCase())
    // a stand-in signature exactly as `fastSignature` writes it names its signer; any other form
    // goes on to real key recovery
    previousShortcut = setSignerShortcut((digest, signature) => {
      if (signature.length !== 132 || !LOWER_DIGEST.test(digest)) return undefined
      const index = parseInt(signature.slice(114, 130), 16) - 1
      return addresses[index] !== undefined && signature === fastSignature(digest, index) ? addresses[index] : undefined
    })
  }
  return () => {
    setSignerShortcut(previousShortcut)
    setMessageMemoLimit(previousMessageMemoLimit)
    setSharedPayloads(previousShared)
  }
}
