import { afterEach, describe, expect, test } from 'vitest'
import { SigningKey, TypedDataEncoder, Wallet } from 'ethers'
import { isMessageError } from '../../../src/protocols/messages/errors.ts'
import { lilypadDomain } from '../../../src/protocols/messages/eip712-types.ts'
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

  test('only a stand-in signature exactly as written names its signer; any other form goes to real recovery', () => {
    uninstall = installAccelerators({ identities: ids })
    const digest = '0x' + '3c'.repeat(32)
    const sig = fastSignature(digest, 2)
    expect(recoverSigner(digest, sig)).toBe(ids[2]!.address.toLowerCase())
    const named = (signature: string): string | undefined => { try { return recoverSigner(digest, signature) } catch { return undefined } }
    for (const variant of [sig.toUpperCase().replace('0X', '0x'), sig.slice(0, -2) + '1c', fastSignature('0x' + '3d'.repeat(32), 2)]) {
      expect(named(variant)).not.toBe(ids[2]!.address.toLowerCase())
    }
    expect(() => recoverSigner(digest, sig.slice(0, -4))).toThrow(SignatureFormatError)
  })

  test('a real ECDSA signature still verifies while the stand-in is installed', () => {
    uninstall = installAccelerators({ identities: ids })
    const signed = new Signer('ecdsa', domainJson).sign(ids[3]!, 'ResultsAccepted', accepted(ids[3]!.address, '21'))
    expect(verifyEnvelope(domain, signed.envelope).signers).toEqual([ids[3]!.address])
  })

  test('installing replaces nothing in ethers, and uninstalling ends the stand-in', () => {
    const hash = TypedDataEncoder.hash
    const recover = SigningKey.recoverPublicKey
    uninstall = installAccelerators({ identities: ids })
    expect(TypedDataEncoder.hash).toBe(hash)
    expect(SigningKey.recoverPublicKey).toBe(recover)
    uninstall()
    uninstall = undefined
    // a stand-in signature no longer names its signer
    const digest = '0x' + '3c'.repeat(32)
    const recovered = ((): string | undefined => { try { return recoverSigner(digest, fastSignature(digest, 2)) } catch { return undefined } })()
    expect(recovered).not.toBe(ids[2]!.address.toLowerCase())
  })
})
