import { describe, expect, it } from 'vitest'
import { ensureMediatorStake, StakeError, type StakingChain } from '../../../src/node/mediator-stake.ts'
import type { MediatorTerms } from '../../../src/settlement/index.ts'

/** A chain that keeps one mediator's terms and records what was sent to it. */
function chainWith (terms: MediatorTerms, fail?: string): StakingChain & { sent: string[] } {
  const sent: string[] = []
  const receipt = { hash: '0x', blockNumber: 1, gasUsed: 1n, events: [] }
  return {
    address: '0x' + '11'.repeat(20),
    sent,
    mediatorOf: async () => ({ ...terms }),
    deposit: async (amount) => {
      if (fail !== undefined) throw new Error(fail)
      sent.push(`deposit ${amount}`)
      terms.stake += amount
      return receipt
    },
    registerMediator: async (fee) => {
      sent.push(`register ${fee}`)
      terms.registered = true
      terms.fee = fee
      return receipt
    }
  }
}

describe('a mediator\'s stake at start', () => {
  it('deposits what is short of the stake and registers for its fee', async () => {
    const chain = chainWith({ registered: false, fee: 0n, stake: 300n })
    expect(await ensureMediatorStake(chain, 1000n, 50n)).toEqual({ deposited: 700n, registeredNow: true, stake: 1000n, fee: 50n })
    expect(chain.sent).toEqual(['deposit 700', 'register 50'])
  })

  it('sends nothing when the chain already shows the stake and the fee', async () => {
    const chain = chainWith({ registered: true, fee: 50n, stake: 2000n })
    expect(await ensureMediatorStake(chain, 1000n, 50n)).toEqual({ deposited: 0n, registeredNow: false, stake: 2000n, fee: 50n })
    expect(chain.sent).toEqual([])
  })

  it('registers again for a new fee', async () => {
    const chain = chainWith({ registered: true, fee: 50n, stake: 2000n })
    await ensureMediatorStake(chain, 1000n, 80n)
    expect(chain.sent).toEqual(['register 80'])
  })

  it('says in one line why it could not stake', async () => {
    const chain = chainWith({ registered: false, fee: 0n, stake: 0n }, 'TOKEN_INSUFFICIENT_BALANCE: 0x11… holds 5 tokens but 1000 are needed')
    const err = await ensureMediatorStake(chain, 1000n, 50n).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StakeError)
    expect((err as Error).message).toMatch(/^could not stake 1000 wei as mediator 0x1111.*: TOKEN_INSUFFICIENT_BALANCE/)
  })
})
