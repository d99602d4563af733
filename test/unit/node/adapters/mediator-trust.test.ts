import { describe, expect, test } from 'vitest'
import { MediatorTrust, type MediatorTerms } from '../../../../src/node/adapters/mediator-trust.ts'

const address = (n: number): string => '0x' + n.toString(16).padStart(40, '0')
const CONFIGURED = address(1)

/** A chain's view of mediators, and the announcements the mesh holds: both change as a test goes. */
function world (terms: Record<string, MediatorTerms>, announcers: string[]): { trust: (o?: { minStake?: bigint, maxFee?: bigint }) => MediatorTrust, told: string[][], announcers: string[], terms: Record<string, MediatorTerms> } {
  const told: string[][] = []
  const w = {
    told,
    announcers,
    terms,
    trust: (o: { minStake?: bigint, maxFee?: bigint } = { minStake: 100n }) => new MediatorTrust({
      configured: [CONFIGURED],
      ...o,
      announcers: () => w.announcers,
      termsOf: async (m) => {
        const t = w.terms[m]
        if (t === undefined) throw new Error('no such account')
        return t
      },
      onChange: async (trusted) => { told.push(trusted) }
    })
  }
  return w
}

const staked = (stake: bigint, fee = 10n, registered = true): MediatorTerms => ({ registered, fee, stake })

describe('mediator trust', () => {
  test('trusts the configured mediators, then announced ones holding the stake on chain, most staked first', async () => {
    const w = world({ [address(2)]: staked(100n), [address(3)]: staked(500n), [address(4)]: staked(99n), [address(5)]: staked(1000n, 10n, false) }, [address(2), address(3), address(4), address(5), address(6)])
    const trust = w.trust()
    expect(trust.trusted()).toEqual([CONFIGURED])
    // 4 holds too little, 5 never registered, 6 has no terms the chain can give
    expect(await trust.refresh()).toEqual([CONFIGURED, address(3), address(2)])
    expect(w.told).toEqual([[CONFIGURED, address(3), address(2)]])
    expect(trust.with([address(9)])).toEqual([address(9), address(3), address(2)])
  })

  test('tells the list once, and again only when it changes: a mediator that withdrew its stake or stopped announcing leaves it', async () => {
    const w = world({ [address(2)]: staked(100n), [address(3)]: staked(200n) }, [address(2), address(3)])
    const trust = w.trust()
    await trust.refresh()
    await trust.refresh()
    expect(w.told).toEqual([[CONFIGURED, address(3), address(2)]])
    w.terms[address(3)] = staked(50n)
    w.announcers = [address(2)]
    expect(await trust.refresh()).toEqual([CONFIGURED, address(2)])
    expect(w.told).toHaveLength(2)
  })

  test('an announced mediator asking more than the fee this node pays is not trusted; without a least stake, none announced is', async () => {
    const w = world({ [address(2)]: staked(1000n, 50n), [address(3)]: staked(1000n, 10n) }, [address(2), address(3)])
    expect(await w.trust({ minStake: 1n, maxFee: 20n }).refresh()).toEqual([CONFIGURED, address(3)])
    const off = w.trust({})
    expect(await off.refresh()).toEqual([CONFIGURED])
    expect(off.with([CONFIGURED])).toEqual([CONFIGURED])
  })

  test('a configured mediator that also announces itself is named once, where the configuration puts it', async () => {
    const w = world({ [CONFIGURED.toUpperCase().replace('0X', '0x')]: staked(10_000n) }, [CONFIGURED.toUpperCase().replace('0X', '0x')])
    expect(await w.trust().refresh()).toEqual([CONFIGURED])
  })
})
