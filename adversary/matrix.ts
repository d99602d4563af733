/**
 * The adversarial matrix: every strategy played once against an honest party on a real chain, and
 * what the honest party's deposit gained or lost set against what DESIGN §6 owes it (a requester of
 * an on-chain job: its tokens, against one delivery or its payment back).
 */
import { lockedBy, settle, type Evidence } from '../src/state-machines/settle.ts'
import type { Deal } from '../src/protocols/messages/schemas.ts'
import type { DealOutcome } from '../src/state-machines/deal-states.ts'
import { startArena, type Arena } from './arena.ts'
import { Game } from './game.ts'
import { playRelay } from './relay.ts'
import type { Strategy } from './strategies.ts'

export interface Row {
  strategy: string
  honest: 'job creator' | 'provider' | 'mediator' | 'requester'
  owed: DealOutcome | null
  /** what §6 pays the honest party for the owed outcome, less what it locked */
  payout: bigint
  /** what the honest party's deposit gained (or lost); a requester's tokens */
  got: bigint
  /** what the chain settled the deal to, if anything; a request's status */
  outcome: string
  held: boolean
  /** for an honest mediator: the jobs it re-ran (none is owed it without a fee behind it) */
  reruns?: number
}

function net (deal: Deal, outcome: DealOutcome | null, role: 'jobCreator' | 'resourceProvider' | 'mediator', mediator: string): bigint {
  if (outcome === null) return 0n
  if (role === 'mediator') return settle(deal, { outcome, mediator } as Evidence).payouts.mediator
  const evidence = (outcome === 'MediationAccepted' || outcome === 'MediationRejected' ? { outcome, mediator } : { outcome }) as Evidence
  return settle(deal, evidence).payouts[role] - lockedBy(deal)[role]
}

export async function playOne (arena: Arena, strategy: Strategy): Promise<Row> {
  if (strategy.by === 'relayer') return await playRelay(arena, strategy)
  const honestRole = strategy.against === 'mediator' ? 'mediator' : strategy.by === 'job creator' ? 'resourceProvider' : 'jobCreator'
  const before = await arena.clients[honestRole].balanceOf()
  let game: Game | undefined
  try {
    game = strategy.setup !== undefined
      ? await strategy.setup(arena)
      : strategy.by === 'job creator' ? await Game.againstProvider(arena, strategy.options) : await Game.againstCreator(arena, strategy.options)
    await strategy.play(game)
    if (game.cosigned) await game.finish()
    const after = await arena.clients[honestRole].balanceOf()
    const record = game.cosigned ? await arena.clients.outsider.dealRecord(game.dealId) : undefined
    const payout = net(game.deal, strategy.owed, honestRole, arena.wallets.mediator.address)
    const got = after - before
    return {
      strategy: strategy.name,
      honest: strategy.against ?? (strategy.by === 'job creator' ? 'provider' : 'job creator'),
      owed: strategy.owed,
      payout,
      got,
      outcome: record === undefined ? 'not signed' : record.state === 'Settled' ? String(record.outcome) : `unsettled (${record.state})`,
      // where no deal should be signed, signing is the loss, whatever the deal then paid
      ...(strategy.against === 'mediator' ? { reruns: game.reruns } : {}),
      held: strategy.holds !== undefined ? strategy.holds(game) : strategy.owed === null ? !game.cosigned : got >= payout
    }
  } finally {
    await game?.close()
  }
}

export async function playAll (strategies: Strategy[], onRow: (row: Row) => void = () => {}): Promise<Row[]> {
  const arena = await startArena()
  try {
    const rows: Row[] = []
    for (const s of strategies) {
      const row = await playOne(arena, s)
      rows.push(row)
      onRow(row)
    }
    return rows
  } finally {
    await arena.stop()
  }
}

export function formatRow (r: Row): string {
  const owed = r.reruns !== undefined
    ? 'no unpaid re-run'
    : r.honest === 'requester' ? `${r.owed === null ? 'its payment back' : `one ${r.owed} delivery`} ${r.payout}` : `${r.owed ?? 'not signed'} ${r.payout}`
  const got = r.reruns !== undefined ? `${r.reruns} re-run(s), ${r.got} (${r.outcome})` : `${r.got} (${r.outcome})`
  return [r.strategy, r.honest, owed, got, r.held ? 'held' : 'LOST'].join(' | ')
}
