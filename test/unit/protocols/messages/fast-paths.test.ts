import fc from 'fast-check'
import { getAddress, hexlify, recoverAddress, Signature, SigningKey, TypedDataEncoder, Wallet } from 'ethers'
import { describe, expect, test } from 'vitest'
import { hashTypedMessage } from '../../../../src/protocols/messages/eip712-hash.ts'
import { recoverSigner } from '../../../../src/protocols/messages/recover-signer.ts'
import { signDigest } from '../../../../src/protocols/messages/sign-digest.ts'
import {
  EIP712_TYPES, lilypadDomain, Messages, MESSAGE_TYPES, messageId, signMessage, typesFor, verifyEnvelope, type MessageType
} from '../../../../src/protocols/messages/index.ts'
import { domain, parties, scenario } from '../../state-machines/fixtures.ts'

const hex = (bytes: number): fc.Arbitrary<string> => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map(b => hexlify(b))

/** An address as the schema leaves it (checksummed), or all lower case. */
const address = fc.tuple(hex(20), fc.boolean()).map(([a, checksummed]) => checksummed ? getAddress(a) : a.toLowerCase())

const uint = (bits: number): fc.Arbitrary<number | string> => bits <= 32
  ? fc.integer({ min: 0, max: 2 ** bits - 1 })
  : bits === 64
    ? fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER))
    : fc.oneof(
      fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }).map(String),
      // amounts of up to sixteen digits, around where the hash writes them without a BigInt, some with leading zeros
      fc.bigInt({ min: 0n, max: 10n ** 16n }).map(String),
      fc.tuple(fc.nat({ max: 3 }), fc.bigInt({ min: 0n, max: 10n ** 15n })).map(([zeros, n]) => '0'.repeat(zeros) + String(n))
    )

const ATOMIC: Record<string, fc.Arbitrary<unknown>> = {
  address,
  bool: fc.boolean(),
  bytes32: fc.tuple(hex(32), fc.boolean()).map(([h, upper]) => upper ? '0x' + h.slice(2).toUpperCase() : h),
  int32: fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  uint8: uint(8),
  uint32: uint(32),
  uint64: uint(64),
  uint256: uint(256),
  string: fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ maxLength: 300 }), fc.constant(''))
}

function fieldArbitrary (type: string): fc.Arbitrary<unknown> {
  if (type.endsWith('[]')) return fc.array(ATOMIC[type.slice(0, -2)] as fc.Arbitrary<unknown>, { maxLength: 6 })
  return ATOMIC[type] as fc.Arbitrary<unknown>
}

/** Any value of the type's EIP-712 struct (not only schema-valid ones: the hash must agree on all). */
function messageOf (type: MessageType): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(Object.fromEntries(EIP712_TYPES[type].map(f => [f.name, fieldArbitrary(f.type)])))
}

const anyDomain = fc.tuple(fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), hex(20)).map(([chainId, contract]) => lilypadDomain(chainId, getAddress(contract)))

function outcome (fn: () => string): string {
  try {
    return fn()
  } catch {
    return 'throws'
  }
}

describe('EIP-712 hash: the fast encoder equals ethers\' TypedDataEncoder', () => {
  test.each(MESSAGE_TYPES)('%s: random messages under random domains', type => {
    fc.assert(fc.property(anyDomain, messageOf(type), (d, message) => {
      expect(hashTypedMessage(d, type, message)).toBe(TypedDataEncoder.hash(d, typesFor(type), message))
    }), { numRuns: 60 })
  })

  test.each(MESSAGE_TYPES)('%s: random messages as their schema leaves them (the checked writers), under random domains', type => {
    fc.assert(fc.property(anyDomain, messageOf(type), (d, message) => {
      expect(hashTypedMessage(d, type, message, true)).toBe(TypedDataEncoder.hash(d, typesFor(type), message))
    }), { numRuns: 40 })
  })

  test('strings and lists hashed before (memoised) hash as ethers hashes them, however their elements split', () => {
    const offer = { ...scenario().offerEnv.message }
    for (const modules of [['a,b'], ['a', 'b'], ['a\u0000b'], ['a', 'b'], ['"a","b"'], [], ['a,b']]) {
      const message = { ...offer, modules }
      expect(hashTypedMessage(domain, 'ResourceOffer', message)).toBe(TypedDataEncoder.hash(domain, typesFor('ResourceOffer'), message))
    }
  })

  test('the messages of a whole deal, as signed, hash as ethers hashes them', () => {
    const s = scenario()
    for (const env of [s.jobEnv, s.accepted, s.results, s.dealEnv, s.halfSigned]) {
      expect(messageId(domain, env.type, env.message as never)).toBe(TypedDataEncoder.hash(domain, typesFor(env.type), env.message))
    }
  })

  test('odd values take ethers\' path: same hash, or the same refusal', () => {
    const s = scenario()
    const m = s.accepted.message
    const mixed = m.author.slice(0, 2) + m.author.slice(2).split('').map((c, i) => i % 2 === 0 ? c.toUpperCase() : c.toLowerCase()).join('')
    const odd: Array<Record<string, unknown>> = [
      { ...m, nonce: '0x1f' }, // hex number
      { ...m, nonce: 7n }, // bigint
      { ...m, expiry: 2 ** 64 }, // beyond uint64
      { ...m, expiry: -1 },
      { ...m, expiry: 1.5 },
      { ...m, resultsCid: 'a\uD800b' }, // lone surrogate
      { ...m, author: mixed }, // mixed case, bad checksum
      { ...m, author: m.author.slice(2) }, // no 0x
      { ...m, dealId: '0x1234' }, // short bytes32
      { ...m, dealId: undefined }, // missing
      { ...m, extra: 'ignored' } // a field outside the struct
    ]
    for (const message of odd) {
      const ours = outcome(() => hashTypedMessage(domain, 'ResultsAccepted', message))
      const theirs = outcome(() => TypedDataEncoder.hash(domain, typesFor('ResultsAccepted'), message))
      expect(ours, JSON.stringify(message, (_, v: unknown) => typeof v === 'bigint' ? `${v}n` : v)).toBe(theirs)
    }
    expect(outcome(() => hashTypedMessage(domain, 'ResultsAccepted', { ...m, author: mixed }))).toBe('throws')
  })

  test('the checked writers leave every address or 32-byte value they cannot read to ethers: same hash, or the same refusal', () => {
    const m = scenario().accepted.message
    const odd: Array<Record<string, unknown>> = [
      { ...m, author: m.author.slice(2) }, // no 0x
      { ...m, author: m.author.replace(/^0x/, '0X') },
      { ...m, author: m.author.slice(0, -1) + 'g' }, // not a hex digit
      { ...m, author: m.author.slice(0, -1) + '\u0661' }, // a digit, but not an ASCII one
      { ...m, author: m.author.slice(0, -1) + '\u0141' }, // a character whose low byte is a hex digit's code
      { ...m, author: m.author + '0' }, // too long
      { ...m, author: 42 },
      { ...m, dealId: '0x1234' }, // short bytes32
      { ...m, dealId: m.dealId.slice(0, -1) + 'z' },
      { ...m, dealId: m.dealId.toUpperCase().replace('0X', '0x') },
      { ...m, dealId: undefined }
    ]
    for (const message of odd) {
      const ours = outcome(() => hashTypedMessage(domain, 'ResultsAccepted', message, true))
      const theirs = outcome(() => TypedDataEncoder.hash(domain, typesFor('ResultsAccepted'), message))
      expect(ours, JSON.stringify(message)).toBe(theirs)
    }
  })
})

describe('signer recovery: the fast path equals ethers\' recoverAddress', () => {
  const recoverByEthers = (digest: string, signature: string): string => recoverAddress(digest, Signature.from(signature)).toLowerCase()
  const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter(k => k.some(b => b !== 0) && BigInt(hexlify(k)) < 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n)

  test('valid signatures by random keys over random digests', () => {
    fc.assert(fc.property(key, hex(32), (k, digest) => {
      const signer = new SigningKey(hexlify(k))
      const signature = signer.sign(digest).serialized
      const expected = new Wallet(signer).address.toLowerCase()
      expect(recoverSigner(digest, signature)).toBe(expected)
      expect(recoverByEthers(digest, signature)).toBe(expected)
    }), { numRuns: 40 })
  })

  test('tampered signatures (any byte, any v, the other s) are accepted or refused exactly as ethers does', () => {
    const digest = '0x' + 'ab'.repeat(32)
    const good = new SigningKey('0x' + '07'.repeat(32)).sign(digest)
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const highS = '0x' + good.r.slice(2) + (n - BigInt(good.s)).toString(16).padStart(64, '0') + (good.v === 27 ? '1c' : '1b')
    expect(outcome(() => recoverSigner(digest, highS))).toBe(outcome(() => recoverByEthers(digest, highS)))
    fc.assert(fc.property(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 255 }), (at, byte) => {
      const bytes = Buffer.from(good.serialized.slice(2), 'hex')
      bytes[at] = byte
      const signature = '0x' + bytes.toString('hex')
      expect(outcome(() => recoverSigner(digest, signature))).toBe(outcome(() => recoverByEthers(digest, signature)))
    }), { numRuns: 300 })
  })

  test('random bytes as signatures, including r or s of zero or beyond the curve order', () => {
    const edges = ['00'.repeat(32), 'ff'.repeat(32), n32(0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n), n32(1n)]
    const part = fc.oneof(hex(32).map(h => h.slice(2)), fc.constantFrom(...edges))
    fc.assert(fc.property(hex(32), part, part, fc.integer({ min: 0, max: 255 }), (digest, r, s, v) => {
      const signature = `0x${r}${s}${v.toString(16).padStart(2, '0')}`
      expect(outcome(() => recoverSigner(digest, signature))).toBe(outcome(() => recoverByEthers(digest, signature)))
    }), { numRuns: 200 })
  })

  test('a signer shortcut names the signers of the signatures it knows and leaves the rest to recovery; only its own Messages reads it', () => {
    const accepted = scenario().accepted
    const author = accepted.message.author
    const standIn = '0x' + '02'.repeat(64) + '1b'
    const withShortcut = new Messages({ signerShortcut: (_digest, signature) => signature === standIn ? author.toLowerCase() : undefined })
    const envelope = { ...accepted, signatures: [standIn] }
    expect(withShortcut.verify(domain, envelope).signers).toEqual([author])
    // a real signature still goes to recovery
    expect(withShortcut.verify(domain, accepted).signers).toEqual([author])
    // a node's messages never read the stand-in
    expect(() => verifyEnvelope(domain, envelope)).toThrow(/BAD_SIGNATURE|WRONG_SIGNER|is by/)
    expect(() => new Messages().verify(domain, envelope)).toThrow()
  })
})

function n32 (n: bigint): string {
  return n.toString(16).padStart(64, '0')
}

describe('signing: the fast path equals ethers\' SigningKey.sign', () => {
  const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter(k => k.some(b => b !== 0) && BigInt(hexlify(k)) < 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n)

  test('the same signature, byte for byte, by random keys over random digests', () => {
    fc.assert(fc.property(key, hex(32), (k, digest) => {
      const signer = new SigningKey(hexlify(k))
      expect(signDigest(signer, digest)).toBe(signer.sign(digest).serialized)
    }), { numRuns: 200 })
  })
})

describe('verification keeps its codes on the fast path', () => {
  test('a message signed under one domain and checked under another names the wrong signer', () => {
    const s = scenario()
    const env = signMessage(parties.jobCreator, domain, 'JobOffer', s.job)
    expect(verifyEnvelope(domain, env).signers).toEqual([parties.jobCreator.address])
    const other = lilypadDomain(5n, domain.verifyingContract)
    expect(() => verifyEnvelope(other, env)).toThrow(/WRONG_SIGNER/)
  })

  test('a signature with v outside 27/28, 0/1 and EIP-155 values is BAD_SIGNATURE', () => {
    const s = scenario()
    const bad = { ...s.accepted, signatures: [s.accepted.signatures[0]!.slice(0, -2) + '05'] }
    expect(() => verifyEnvelope(domain, bad)).toThrow(/BAD_SIGNATURE/)
  })
})
