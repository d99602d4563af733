import { describe, expect, test } from 'vitest'
import { SigningKey, TypedDataEncoder, Wallet } from 'ethers'
import { isMessageError } from '../../../src/protocols/messages/errors.ts'
import { lilypadDomain } from '../../../src/protocols/messages/eip712-types.ts'
import { recoverSigner } from '../../../src/protocols/messages/recover-signer.ts'
import { Messages, verifyEnvelope } from '../../../src/protocols/messages/signing.ts'
import { makeIdentities } from '../../../sim/identities.ts'
import { fastSignature, Signer, simMessages, standInSigners } from '../../../sim/signatures.ts'

const domainJson = { chainId: '31337', verifyingContract: '0x' + '5e'.repeat(20) }
const domain = lilypadDomain(31337n, domainJson.verifyingContract)
const ids = makeIdentities(4)
const accepted = (author: string, nonce: string) => ({ author, nonce, expiry: 2_000_000_000_000, dealId: '0x' + 'ab'.repeat(32), resultsCid: 'bafkabc' })

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
    const signer = new Signer('ecdsa', domainJson, simMessages('ecdsa', ids))
    const signed = signer.sign(ids[0]!, 'ResultsAccepted', accepted(ids[0]!.address, '1'))
    expect(verifyEnvelope(domain, signed.envelope).signers).toEqual([ids[0]!.address])
    expect(() => signer.sign(ids[1]!, 'ResultsAccepted', accepted(ids[0]!.address, '2'))).toThrow(/WRONG_SIGNER/)
  })
})

describe('fast signatures', () => {
  test('verify only with the run\'s messages, and still reject a changed message or a signature by someone else', () => {
    const messages = simMessages('fast', ids)
    const signer = new Signer('fast', domainJson, messages)
    const good = signer.sign(ids[1]!, 'ResultsAccepted', accepted(ids[1]!.address, '11')).envelope
    const forged = { ...signer.sign(ids[2]!, 'ResultsAccepted', accepted(ids[2]!.address, '12')).envelope }
    forged.message = { ...forged.message, author: ids[1]!.address }
    const tampered = { ...good, message: { ...good.message, resultsCid: 'bafkother' } }
    expect(code(() => verifyEnvelope(domain, JSON.parse(JSON.stringify(good))))).toBeDefined()
    expect(code(() => new Messages().verify(domain, good))).toBeDefined()
    expect(messages.verify(domain, good).signers).toEqual([ids[1]!.address])
    expect(code(() => messages.verify(domain, tampered))).toBe('WRONG_SIGNER')
    expect(code(() => messages.verify(domain, forged))).toBe('WRONG_SIGNER')
  })

  test('only a stand-in signature exactly as written names its signer; any other form goes to real recovery', () => {
    const read = standInSigners(ids)
    const digest = '0x' + '3c'.repeat(32)
    const sig = fastSignature(digest, 2)
    expect(read(digest, sig)).toBe(ids[2]!.address.toLowerCase())
    for (const variant of [sig.toUpperCase().replace('0X', '0x'), sig.slice(0, -2) + '1c', fastSignature('0x' + '3d'.repeat(32), 2), sig.slice(0, -4)]) {
      expect(read(digest, variant)).toBeUndefined()
    }
    expect(read(digest, fastSignature(digest, ids.length))).toBeUndefined()
  })

  test('a real ECDSA signature still verifies with the run\'s messages', () => {
    const messages = simMessages('fast', ids)
    const signed = new Signer('ecdsa', domainJson, messages).sign(ids[3]!, 'ResultsAccepted', accepted(ids[3]!.address, '21'))
    expect(messages.verify(domain, signed.envelope).signers).toEqual([ids[3]!.address])
  })

  test('the run\'s messages replace nothing in ethers, and the protocol\'s own recovery never reads a stand-in', () => {
    const hash = TypedDataEncoder.hash
    const recover = SigningKey.recoverPublicKey
    simMessages('fast', ids)
    expect(TypedDataEncoder.hash).toBe(hash)
    expect(SigningKey.recoverPublicKey).toBe(recover)
    const digest = '0x' + '3c'.repeat(32)
    const recovered = ((): string | undefined => { try { return recoverSigner(digest, fastSignature(digest, 2)) } catch { return undefined } })()
    expect(recovered).not.toBe(ids[2]!.address.toLowerCase())
  })
})
