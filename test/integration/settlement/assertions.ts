import { expect } from 'vitest'
import { SettlementError, type SettlementErrorCode, type SettlementEvent, type SettlementReceipt } from '../../../src/settlement/index.ts'
import { PAYOUT_ROLES, type Slash, type Transfer } from '../../../src/state-machines/settle.ts'

export async function expectCode (p: Promise<unknown>, code: SettlementErrorCode): Promise<SettlementError> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  expect(err, `expected ${code}`).toBeInstanceOf(SettlementError)
  expect((err as SettlementError).code).toBe(code)
  return err as SettlementError
}

/** The Payout events of a receipt, in the shape of settle()'s transfers. */
export function transfersOf (receipt: { events: SettlementEvent[] }): Transfer[] {
  return receipt.events.filter(e => e.name === 'Payout').map(e => ({
    role: PAYOUT_ROLES[Number(e.args.role)] as Transfer['role'],
    to: e.args.payee as string,
    amount: e.args.amount as bigint
  }))
}

export function slashesOf (receipt: SettlementReceipt): Slash[] {
  return receipt.events.filter(e => e.name === 'Slashed').map(e => ({
    from: PAYOUT_ROLES[Number(e.args.from)] as Slash['from'],
    to: PAYOUT_ROLES[Number(e.args.to)] as Slash['to'],
    amount: e.args.amount as bigint
  }))
}
