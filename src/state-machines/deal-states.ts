/**
 * The deal states of DESIGN §6, in order. The settlement contract's `DealState` enum lists the same
 * names in the same order (index = enum value); a test compares the two.
 */
export const DEAL_STATES = [
  'JobOffered',
  'Matched',
  'Agreed',
  'ResultsSubmitted',
  'Accepted',
  'Mediating',
  'MediationAccepted',
  'MediationRejected',
  'Settled',
  'TimeoutMatch',
  'TimeoutAgree',
  'TimeoutSubmit',
  'TimeoutJudge',
  'TimeoutMediate'
] as const

export type DealState = typeof DEAL_STATES[number]

/** The outcomes that move locked funds: each is settled by `settle()` and then becomes `Settled`. */
export const DEAL_OUTCOMES = [
  'Accepted',
  'MediationAccepted',
  'MediationRejected',
  'TimeoutSubmit',
  'TimeoutJudge',
  'TimeoutMediate'
] as const satisfies readonly DealState[]

export type DealOutcome = typeof DEAL_OUTCOMES[number]

/** States after which nothing more happens. Nothing was locked yet in TimeoutMatch and TimeoutAgree. */
export const FINAL_DEAL_STATES = ['Settled', 'TimeoutMatch', 'TimeoutAgree'] as const satisfies readonly DealState[]

/** Which party may claim each deadline once it has passed, and the state it leads to. */
export const DEADLINES = {
  matchDeadline: { in: 'JobOffered', to: 'TimeoutMatch', claimant: 'jobCreator' },
  agreeDeadline: { in: 'Matched', to: 'TimeoutAgree', claimant: 'jobCreator' },
  submitDeadline: { in: 'Agreed', to: 'TimeoutSubmit', claimant: 'jobCreator' },
  judgeDeadline: { in: 'ResultsSubmitted', to: 'TimeoutJudge', claimant: 'resourceProvider' },
  mediateDeadline: { in: 'Mediating', to: 'TimeoutMediate', claimant: 'either' }
} as const satisfies Record<string, { in: DealState, to: DealState, claimant: string }>

export type DeadlineName = keyof typeof DEADLINES

export function dealStateIndex (state: DealState): number {
  return DEAL_STATES.indexOf(state)
}

export function isDealState (value: unknown): value is DealState {
  return typeof value === 'string' && (DEAL_STATES as readonly string[]).includes(value)
}

export function isDealOutcome (value: unknown): value is DealOutcome {
  return typeof value === 'string' && (DEAL_OUTCOMES as readonly string[]).includes(value)
}
