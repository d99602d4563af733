import { AbiCoder, ErrorFragment, Interface } from 'ethers'
import { beforeAll, describe, expect, it } from 'vitest'
import { combinedInterface, loadArtifacts, loadOnchainJobsArtifacts, mergedInterface } from '../../../src/settlement/artifacts.ts'
import { decodeRevert, revertDataOf, SettlementError, toSettlementError } from '../../../src/settlement/errors.ts'

let iface: Interface
beforeAll(async () => { iface = combinedInterface(await loadArtifacts()) }, 120_000)

/** Errors the settlement paths cannot raise (we recover signatures with tryRecover, the token is ours). */
const UNREACHABLE = new Set([
  'ReentrancyGuardReentrantCall', 'SafeERC20FailedOperation', 'ECDSAInvalidSignature', 'ECDSAInvalidSignatureLength',
  'ECDSAInvalidSignatureS', 'InvalidShortString', 'StringTooLong', 'OwnableUnauthorizedAccount', 'OwnableInvalidOwner',
  'ERC20InvalidSender', 'ERC20InvalidReceiver', 'ERC20InvalidApprover', 'ERC20InvalidSpender', 'NotAnOutcome'
])

function sampleArgs (types: readonly string[]): unknown[] {
  return types.map(t => t === 'address' ? '0x' + '12'.repeat(20) : t === 'bytes32' ? '0x' + 'ab'.repeat(32) : t === 'string' ? 'stdout' : t === 'uint8' || t === 'uint32' ? 1 : 1_700_000_000_000n)
}

describe('revert decoding', () => {
  it('gives every reachable contract error its own code and a message without raw data', async () => {
    const jobs = await loadOnchainJobsArtifacts()
    const all = mergedInterface([jobs.jobs, jobs.exampleClient])
    const errors = [...iface.fragments, ...all.fragments].filter((f): f is ErrorFragment => f.type === 'error')
    expect(errors.length).toBeGreaterThan(40)
    for (const e of errors.filter(e => !UNREACHABLE.has(e.name))) {
      const owner = iface.getError(e.name) !== null ? iface : all
      const data = owner.encodeErrorResult(e.name, sampleArgs(e.inputs.map(i => i.type)))
      const decoded = decodeRevert({ code: 'CALL_EXCEPTION', info: { error: { data } } }, owner)
      expect(decoded, e.name).toBeInstanceOf(SettlementError)
      expect(decoded?.code, e.name).not.toBe('REVERTED')
      expect(decoded?.revert?.name).toBe(e.name)
      expect(decoded?.message).not.toMatch(/0x[0-9a-f]{70}/)
    }
  })

  it('names the parties and amounts of an insufficient deposit', () => {
    const data = iface.encodeErrorResult('InsufficientDeposit', ['0x' + '12'.repeat(20), 500n, 20n])
    const err = toSettlementError({ data }, iface)
    expect(err.code).toBe('INSUFFICIENT_DEPOSIT')
    expect(err.message).toBe('INSUFFICIENT_DEPOSIT: insufficient deposit: 0x1212121212121212121212121212121212121212 has 20 but 500 is needed')
  })

  it('finds revert data nested where ethers puts it', () => {
    expect(revertDataOf({ error: { error: { data: '0xdeadbeef' } } })).toBe('0xdeadbeef')
    expect(revertDataOf({ data: '0x' })).toBeUndefined()
  })

  it('reports unknown revert data, a dead chain and anything else with distinct codes', () => {
    const unknown = '0x12345678' + AbiCoder.defaultAbiCoder().encode(['uint256'], [1]).slice(2)
    expect(toSettlementError({ data: unknown }, iface).code).toBe('REVERTED')
    expect(toSettlementError(new Error('connect ECONNREFUSED 127.0.0.1:1'), iface).code).toBe('CHAIN_UNAVAILABLE')
    // a link that is down, a route that is gone, a name not resolved yet: retried as the chain away, not failed for good
    for (const message of ['connect EINVAL 10.0.0.1:8545 - Local (0.0.0.0:0)', 'read ECONNRESET', 'connect EHOSTUNREACH 10.0.0.1:8545', 'connect ENETUNREACH 10.0.0.1:8545', 'getaddrinfo EAI_AGAIN chain.example']) {
      expect(toSettlementError(new Error(message), iface).code, message).toBe('CHAIN_UNAVAILABLE')
    }
    expect(toSettlementError({ code: 'INSUFFICIENT_FUNDS', shortMessage: 'insufficient funds for gas' }, iface).message)
      .toBe('TRANSACTION_FAILED: insufficient funds for gas')
  })
})
