import { afterEach, expect, it, vi } from 'vitest'
import { systemClock } from '../../../../src/actors/runtime/clock.ts'

afterEach(() => { vi.restoreAllMocks() })

it('the system clock calls back only once Date.now() has reached its time, even if setTimeout comes back early by it', async () => {
  // setTimeout runs on a monotonic clock in whole milliseconds, Date.now() on the wall clock: the
  // two disagree by up to a millisecond, and more when the wall clock is slewed
  const real = Date.now.bind(Date)
  const at = real() + 10
  let armed = false
  vi.spyOn(Date, 'now').mockImplementation(() => armed ? real() - 5 : real())
  const firedAt = new Promise<number>(resolve => systemClock.schedule(at, () => resolve(Date.now())))
  armed = true
  expect(await firedAt).toBeGreaterThanOrEqual(at)
})
