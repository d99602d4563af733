import { describe, expect, test } from 'vitest'
import { QueueFullError, ValidationQueue } from '../../../../src/protocols/mesh/validation-queue.ts'

describe('validation queue', () => {
  test('serves the peers in turn: one message of a flooding peer, then the other peer\'s', async () => {
    const queue = new ValidationQueue(100, 50)
    const order: string[] = []
    const done: Array<Promise<unknown>> = []
    for (let i = 0; i < 5; i++) done.push(queue.run(() => order.push(`flood ${i}`), 'flooder'))
    done.push(queue.run(() => order.push('honest'), 'honest'))
    await Promise.all(done)
    expect(order).toEqual(['flood 0', 'honest', 'flood 1', 'flood 2', 'flood 3', 'flood 4'])
  })

  test('a peer past its share is refused, and another peer still finds room; past the whole, anyone is refused', async () => {
    const queue = new ValidationQueue(4, 2)
    const taken = [queue.run(() => 1, 'flooder'), queue.run(() => 2, 'flooder')]
    await expect(queue.run(() => 3, 'flooder')).rejects.toBeInstanceOf(QueueFullError)
    taken.push(queue.run(() => 4, 'honest'), queue.run(() => 5, 'other'))
    await expect(queue.run(() => 6, 'late')).rejects.toThrow(/4 messages awaiting validation/)
    expect(await Promise.all(taken)).toEqual([1, 2, 4, 5])
    expect(queue.length).toBe(0)
  })

  test('a job that throws rejects its own promise only', async () => {
    const queue = new ValidationQueue(10)
    const failing = queue.run(() => { throw new Error('bad') }, 'a')
    const fine = queue.run(() => 'ok', 'b')
    await expect(failing).rejects.toThrow('bad')
    expect(await fine).toBe('ok')
  })
})
