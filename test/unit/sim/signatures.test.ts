import { afterEach, describe, expect, test } from 'vitest'
import { SigningKey, TypedDataEncoder, Wallet } from 'ethers'
import { isMessageError } from '../../../src/protocols/messages/errors.ts'
import { lilypadDomain, typesFor } from '../../../src/protocols/messages/eip712-types.ts'
import { recoverSigner, SignatureFormatError } from '../../../src/protocols/messages/recover-signer.ts'
import { verifyEnvelope } from '../../../src/protocols/messages/signing.ts'
import { makeIdentities } from '../../../sim/identities.ts'
import { fastSignature, installAccelerators, Signer } from '../../../sim/signatures.ts'

const domainJson = { chainId: '31337', verifyingContract: '0x' + '5e'.repeat(20) }
const domain = lilypadDomain(31337n, domainJson.verifyingContract)
const ids = makeIdentities(4)
const accepted = (author: string, nonce: string) => ({ author, nonce, expiry: 2_000_000_000_000, dealId: '0x' + 'ab'.repeat(32), resultsCid: 'bafkabc' })

let uninstall: (() => void) | undefined
afterEach(() => { uninstall?.(); uninstall = undefined })

function code (f: () => unknown): string | undefined {
  try { f() } catch (err) { return isMessageError(err) ? err.code : String(err) }
  return undefined
}

describe('identities', () => {
  test('consecutive keys: each address is the one ethers derives from its private key', () => {
    for (const id of ids) expect(new Wallet(id.privateKey).address).toBe(id.address)
    expect(new Set(ids.map(i => i.address)).size).toBe(ids.length)
  })
})

describe('ecdsa signing', () => {
  test('signs as the node\'s key; the protocol verifies it, and rejects another author', () => {
    const signer = new Signer('ecdsa', domainJson)
    const signed = signer.sign(ids[0]!, 'ResultsAccepted', accepted(ids[0]!.address, '1'))
    expect(verifyEnvelope(domain, signed.envelope).signers).toEqual([ids[0]!.address])
    expect(() => signer.sign(ids[1]!, 'ResultsAccepted', accepted(ids[0]!.address, '2'))).toThrow(/WRONG_SIGNER/)
  })
})

describe('fast signatures', () => {
  test('verify only while installed, and still reject a changed message or a signature by someone else', () => {
    const signer = new Signer('fast', domainJson)
    const good = signer.sign(ids[1]!, 'ResultsAccepted', accepted(ids[1]!.address, '11')).envelope
    const forged = { ...signer.sign(ids[2]!, 'ResultsAccepted', accepted(ids[2]!.address, '12')).envelope }
    forged.message = { ...forged.message, author: ids[1]!.address }
    const tampered = { ...good, message: { ...good.message, resultsCid: 'bafkother' } }
    expect(code(() => verifyEnvelope(domain, { ...good, message: { ...good.message, nonce: '11' } }))).toBeDefined()
    uninstall = installAccelerators({ identities: ids })
    expect(verifyEnvelope(domain, good).signers).toEqual([ids[1]!.address])
    expect(code(() => verifyEnvelope(domain, tampered))).toBe('WRONG_SIGNER')
    expect(code(() => verifyEnvelope(domain, forged))).toBe('WRONG_SIGNER')
  })

  test('a stand-in signature is read as text only where ethers\' Signature.from reads it (a valid v)', () => {
    uninstall = installAccelerators({ identities: ids })
    const digest = '0x' + '3c'.repeat(32)
    const sig = fastSignature(digest, 2)
    expect(recoverSigner(digest, sig)).toBe(ids[2]!.address.toLowerCase())
    expect(recoverSigner(digest, sig.toUpperCase().replace('0X', '0x'))).toBe(ids[2]!.address.toLowerCase())
    for (const v of ['1c', '00', '01', '25', 'ff']) expect(recoverSigner(digest, sig.slice(0, -2) + v)).toBe(ids[2]!.address.toLowerCase())
    for (const v of ['02', '1a', '1d', '22']) expect(() => recoverSigner(digest, sig.slice(0, -2) + v)).toThrow(SignatureFormatError)
    expect(() => recoverSigner(digest, sig.slice(0, -4))).toThrow(SignatureFormatError)
  })

  test('a real ECDSA signature still verifies while the stand-in is installed', () => {
    uninstall = installAccelerators({ identities: ids })
    const signed = new Signer('ecdsa', domainJson).sign(ids[3]!, 'ResultsAccepted', accepted(ids[3]!.address, '21'))
    expect(verifyEnvelope(domain, signed.envelope).signers).toEqual([ids[3]!.address])
  })

  test('uninstalling restores the library: the memoised hash and recovery are gone', () => {
    const hash = TypedDataEncoder.hash
    const recover = SigningKey.recoverPublicKey
    uninstall = installAccelerators({ identities: ids })
    expect(TypedDataEncoder.hash).not.toBe(hash)
    uninstall()
    uninstall = undefined
    expect(TypedDataEncoder.hash).toBe(hash)
    expect(SigningKey.recoverPublicKey).toBe(recover)
    // nor is a stand-in signature read as naming its signer any more
    const digest = '0x' + '3c'.repeat(32)
    const recovered = ((): string | undefined => { try { return recoverSigner(digest, fastSignature(digest, 2)) } catch { return undefined } })()
    expect(recovered).not.toBe(ids[2]!.address.toLowerCase())
  })
})

describe('memoised EIP-712 hash', () => {
  test('equals the library\'s hash for every message kind, on first and repeated calls', () => {
    const messages = {
      ResultsAccepted: accepted(ids[0]!.address, '5'),
      ResultsChallenged: { ...accepted(ids[0]!.address, '6'), mediator: ids[2]!.address },
      MediatorAnnouncement: { author: ids[2]!.address, nonce: '1', expiry: 5, fee: '10', capacity: 3, multiaddrs: ['/ip4/1.2.3.4/tcp/1'] },
      MediationVerdict: { ...accepted(ids[2]!.address, '7'), mediatorCid: '', providerAtFault: true }
    }
    const expected = Object.entries(messages).map(([t, m]) => TypedDataEncoder.hash(domain, typesFor(t as 'ResultsAccepted'), m))
    uninstall = installAccelerators()
    for (let round = 0; round < 2; round++) {
      expect(Object.entries(messages).map(([t, m]) => TypedDataEncoder.hash(domain, typesFor(t as 'ResultsAccepted'), m))).toEqual(expected)
    }
  })
})
