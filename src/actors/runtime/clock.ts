/** Time for the runtime: the one place the wall clock is read. Tests pass a manual clock. */
export interface Clock {
  now (): number
  /** calls `fire` once `at` (ms since the epoch) has passed; returns a cancel function */
  schedule (at: number, fire: () => void): () => void
}

// setTimeout holds at most 2^31-1 ms; longer waits are re-armed in steps.
const MAX_DELAY = 2 ** 31 - 1

export const systemClock: Clock = {
  now: () => Date.now(),
  schedule (at, fire) {
    let handle: NodeJS.Timeout
    const arm = (): void => {
      const delay = at - Date.now()
      if (delay > MAX_DELAY) {
        handle = setTimeout(arm, MAX_DELAY)
      } else {
        // setTimeout may call back a millisecond before `at` by Date.now(): a timer logged before
        // its deadline would be refused by its machine, and never fired again
        handle = setTimeout(() => { if (Date.now() >= at) fire(); else arm() }, Math.max(0, delay))
      }
      handle.unref?.()
    }
    arm()
    return () => clearTimeout(handle)
  }
}
