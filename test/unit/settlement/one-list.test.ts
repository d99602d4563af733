/** The Solidity side declares the same deal states, payout roles and EIP-712 type strings as TypeScript. */
import { readFileSync } from 'node:fs'
import { beforeAll, describe, expect, it } from 'vitest'
import { ensureContractsBuilt, readArtifact, CONTRACTS_SRC } from '../../../contracts/build.ts'
import { DEAL_STATES } from '../../../src/state-machines/deal-states.ts'
import { PAYOUT_ROLES } from '../../../src/state-machines/settle.ts'
import { encodeTypeString, type MessageType } from '../../../src/protocols/messages/eip712-types.ts'

beforeAll(async () => { await ensureContractsBuilt() }, 120_000)

describe('one list for Solidity and TypeScript', () => {
  it('the contract\'s DealState enum equals DEAL_STATES, name for name and in order', () => {
    const enums = readArtifact('LilypadSettlement').enums
    expect(enums.DealState).toEqual([...DEAL_STATES])
  })

  it('the contract\'s Role enum equals PAYOUT_ROLES', () => {
    const roles = readArtifact('LilypadSettlement').enums.Role?.map(r => r[0]?.toLowerCase() + r.slice(1))
    expect(roles).toEqual([...PAYOUT_ROLES])
  })

  it('the contract hashes the same EIP-712 type strings as the wire', () => {
    const source = readFileSync(`${CONTRACTS_SRC}/DealTypes.sol`, 'utf8')
    const declared = [...source.matchAll(/"([A-Za-z]+\([^"]*\))"/g)].map(m => m[1])
    const evidence: MessageType[] = ['Deal', 'ResultsSubmitted', 'ResultsAccepted', 'ResultsChallenged', 'MediationVerdict', 'JobOffer']
    expect(declared).toEqual(evidence.map(encodeTypeString))
  })
})
