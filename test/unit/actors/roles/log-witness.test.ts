import { afterEach, describe, expect, it, vi, type Mock } from 'vitest'
import { Wallet } from 'ethers'
import { EventLog } from '../../../../src/actors/eventlog/event-log.ts'
import { signedHead, type LogSigner } from '../../../../src/actors/eventlog/checkpoint.ts'
import { LogWitness, RECEIPT_PREFIX, WITNESS_RECORD, type HeadLink, type LogWitnessOptions } from '../../../../src/actors/roles/log-witness.ts'
import { headSigner, type SignedHead } from '../../../../src/protocols/messages/log-head.ts'
import type { Envelope } from '../../../../src/protocols/messages/envelope.ts'
import { MemoryNetwork, type MemoryTransport } from '../../../support/memory-transport.ts'

/** Deterministic keys, so failures reproduce. */
const wallet = (n: number): Wallet => new Wallet('0x' + (n + 1).toString(16).padStart(64, '0'))
const signerOf = (w: Wallet): LogSigner => ({ address: w.address, signDigest: d => w.signingKey.sign(d).serialized })

/** Any direct message: the witness looks at whom it goes to, never at what it says. */
const message = { envelope: { type: 'Deal', message: {}, signatures: [] } as unknown as Envelope, attachments: [] }

interface Node {
  address: string
  signer: LogSigner
  log: EventLog
  transport: MemoryTransport
  witness: LogWitness
  /** the witness's link: the transport's, counting each notice it sends */
  link: { exchangeHead: Mock<HeadLink['exchangeHead']> }
  errors: Array<{ peer: string, message: string }>
}

const opened: Node[] = []

afterEach(async () => {
  for (const node of opened.splice(0)) {
    await node.witness.stop()
    await node.log.close()
  }
  vi.useRealTimers()
})

/** A node on the network: an in-memory log signed by wallet `n`, and its witness on the node's transport. */
async function node (net: MemoryNetwork, n: number, options: LogWitnessOptions = {}): Promise<Node> {
  const w = wallet(n)
  const signer = signerOf(w)
  const log = await EventLog.inMemory({ signer })
  const transport = net.join(w.address)
  const errors: Node['errors'] = []
  const link = { exchangeHead: vi.fn<HeadLink['exchangeHead']>(async (peer, head) => await transport.exchangeHead(peer, head)) }
  const witness = new LogWitness(log, signer, link, { onError: (err, peer) => { errors.push({ peer, message: err.message }) }, ...options })
  transport.witness = witness
  const made = { address: w.address, signer, log, transport, witness, link, errors }
  opened.push(made)
  return made
}

async function append (log: EventLog, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await log.append([{ type: 'note', data: { i } }])
}

/** The answer `holder` keeps from `peer` to its last notice. */
async function receiptOf (holder: Node, peer: Node): Promise<SignedHead | undefined> {
  const [kept] = await holder.log.bucket('messages').getMany([RECEIPT_PREFIX + peer.address.toLowerCase()])
  return kept === undefined ? undefined : JSON.parse(kept) as SignedHead
}

async function witnessRecords (log: EventLog): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const r of log.read()) if (r.type === WITNESS_RECORD) out.push(r.data)
  return out
}

/** Polls, a bounded number of turns of the event loop, until `check` holds. */
async function until (check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return
    await new Promise(resolve => setImmediate(resolve))
  }
  throw new Error(`never came: ${what}`)
}

describe('log witness: a notice after the last message', () => {
  it('has the counterparty log our head at our last record, and keeps its answer, which covers that record', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 1)
    const b = await node(net, 2)
    await a.transport.send(b.address, message)
    await append(a.log, 3) // what A logs after the send, which B has not seen
    const lengthB = b.log.length
    const lengthA = a.log.length

    await a.witness.flush()

    expect(a.link.exchangeHead).toHaveBeenCalledTimes(1)
    expect(a.link.exchangeHead.mock.calls[0]![0]).toBe(b.address.toLowerCase())
    expect(b.log.length).toBe(lengthB + 1)
    const logged = b.log.head()
    expect(logged.type).toBe(WITNESS_RECORD)
    expect(logged.data).toEqual({ seq: lengthA, hash: a.log.head().hash, signer: a.address, signature: expect.any(String) })
    expect(headSigner(logged.data as SignedHead)).toBe(a.address)

    const kept = await receiptOf(a, b)
    expect(kept).toMatchObject({ seq: b.log.length, hash: logged.hash, signer: b.address })
    expect(headSigner(kept!)).toBe(b.address)
    expect(a.log.length).toBe(lengthA) // the answer is kept beside the log, not in it

    await a.witness.flush()
    await b.witness.flush() // B owes A nothing either: its answer covered its last record
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(1)
    expect(b.link.exchangeHead).not.toHaveBeenCalled()
    expect(b.log.length).toBe(lengthB + 1)
  })

  it('counts a head sent with a message as no proof the peer saw it: the message may not get there, so the notice still goes', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 1)
    const b = await node(net, 2)
    await append(a.log, 2)
    await a.transport.send(b.address, message) // its head is A's last record
    await a.witness.flush()
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(1)
    expect(await witnessRecords(b.log)).toEqual([expect.objectContaining({ seq: a.log.length })])
    await a.witness.flush() // now B answered: nothing more to send
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(1)
  })

  it('tells a peer what the log gained after its notice (a settlement seen later), once for each message between the two', async () => {
    const net = new MemoryNetwork()
    let t = 1_000_000
    const a = await node(net, 1, { now: () => t })
    const b = await node(net, 2, { now: () => t })
    await a.transport.send(b.address, message)
    await a.transport.send(b.address, message)
    await append(a.log, 1)
    await a.witness.flush()
    t += 5_000
    await append(a.log, 1) // what came after the notice
    await a.witness.flush()
    expect((await witnessRecords(b.log)).map(h => (h as SignedHead).seq)).toEqual([a.log.length - 1, a.log.length])
    t += 5_000
    await append(a.log, 1) // two messages, two notices: no third
    await a.witness.flush()
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(2)
    expect(a.errors).toEqual([])
  })

  it('keeps only the newest answer of a peer', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 1, { minIntervalMs: 0 })
    const b = await node(net, 2, { minIntervalMs: 0 })
    await a.transport.send(b.address, message)
    await append(a.log, 1)
    await a.witness.flush()
    const first = await receiptOf(a, b)
    await a.transport.send(b.address, message)
    await append(a.log, 1)
    await a.witness.flush()
    const second = await receiptOf(a, b)
    expect(second!.seq).toBe(first!.seq + 1)
    expect(second!.seq).toBe(b.log.length)
    expect((await witnessRecords(b.log)).map(h => (h as SignedHead).seq)).toEqual([a.log.length - 1, a.log.length])

    a.link.exchangeHead.mockResolvedValueOnce(first!) // an answer older than the one kept
    await a.transport.send(b.address, message)
    await append(a.log, 1)
    await a.witness.flush()
    expect(await receiptOf(a, b)).toEqual(second)
  })
})

describe('log witness: when the notice goes', () => {
  const QUIET = 20

  it('goes once the log stops growing, not while it grows', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    const net = new MemoryNetwork()
    const a = await node(net, 1, { quietMs: QUIET, maxDelayMs: 60_000, now: () => Date.now() })
    const b = await node(net, 2)
    await a.transport.send(b.address, message)
    a.witness.start()
    for (let i = 0; i < 10; i++) {
      await append(a.log, 1)
      await vi.advanceTimersByTimeAsync(QUIET)
    }
    expect(a.link.exchangeHead).not.toHaveBeenCalled()

    await vi.advanceTimersByTimeAsync(QUIET) // a look that finds the log as the last one left it
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(1)
    expect(a.link.exchangeHead.mock.calls[0]![1]).toMatchObject({ seq: a.log.length, hash: a.log.head().hash })
    await until(async () => (await receiptOf(a, b)) !== undefined, 'B\'s answer')
    expect(await witnessRecords(b.log)).toEqual([a.link.exchangeHead.mock.calls[0]![1]])

    await vi.advanceTimersByTimeAsync(5 * QUIET) // covered: nothing more to send
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(1)
  })

  it('goes after maxDelayMs however the log keeps growing', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    const net = new MemoryNetwork()
    const a = await node(net, 1, { quietMs: QUIET, maxDelayMs: 5 * QUIET, now: () => Date.now() })
    const b = await node(net, 2)
    await a.transport.send(b.address, message)
    a.witness.start()
    // the first look finds B owed; four more, the log growing each time
    for (let i = 0; i < 5; i++) {
      await append(a.log, 1)
      await vi.advanceTimersByTimeAsync(QUIET)
    }
    expect(a.link.exchangeHead).not.toHaveBeenCalled()
    await append(a.log, 1)
    await vi.advanceTimersByTimeAsync(QUIET) // 5 * QUIET since the first look that found B owed, the log still growing
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(1)
    expect(a.link.exchangeHead.mock.calls[0]![1]).toMatchObject({ seq: a.log.length })
    await until(async () => (await witnessRecords(b.log)).length === 1, 'B to log A\'s head')
    await a.witness.stop()
  })

  it('stops looking when stopped', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] })
    const net = new MemoryNetwork()
    const a = await node(net, 1, { quietMs: QUIET, now: () => Date.now() })
    const b = await node(net, 2)
    await a.transport.send(b.address, message)
    await append(a.log, 1)
    a.witness.start()
    await a.witness.stop()
    await vi.advanceTimersByTimeAsync(10 * QUIET)
    expect(a.link.exchangeHead).not.toHaveBeenCalled()
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('log witness: notices it refuses', () => {
  const T = 1_000_000

  /** A has sent B a message, so that B takes A's notices; B's clock is `clock.now`. */
  async function dealing (): Promise<{ a: Node, b: Node, c: Node, clock: { now: number } }> {
    const clock = { now: T }
    const net = new MemoryNetwork()
    const a = await node(net, 1)
    const b = await node(net, 2, { minIntervalMs: 1000, now: () => clock.now })
    const c = await node(net, 3)
    await a.transport.send(b.address, message)
    return { a, b, c, clock }
  }

  it('a head its sender did not sign', async () => {
    const { a, b, c } = await dealing()
    const forged = signedHead(c.signer, a.log) // A's head, under C's key
    await expect(b.witness.serve(a.address, forged)).rejects.toThrow(`not signed by ${a.address}`)
    const tampered = { ...signedHead(a.signer, a.log), seq: 99 } // A's signature over another seq
    await expect(b.witness.serve(a.address, tampered)).rejects.toThrow(/not signed by/)
    expect(await witnessRecords(b.log)).toEqual([])
  })

  it('a peer it never dealt with, named in the error', async () => {
    const { b, c } = await dealing()
    await append(c.log, 1)
    await expect(b.witness.serve(c.address, signedHead(c.signer, c.log))).rejects.toThrow(c.address)
    expect(await witnessRecords(b.log)).toEqual([])
  })

  it('a newer head sooner than minIntervalMs after the last, and takes it once the interval is past', async () => {
    const { a, b, clock } = await dealing()
    await append(a.log, 1)
    const first = signedHead(a.signer, a.log)
    await b.witness.serve(a.address, first)
    await a.transport.send(b.address, message) // a second message, so that a second notice is due
    await append(a.log, 1)
    const second = signedHead(a.signer, a.log)
    clock.now += 999
    await expect(b.witness.serve(a.address, second)).rejects.toThrow(/more often than once a 1000 ms/)
    expect(await witnessRecords(b.log)).toEqual([first])
    clock.now += 1
    await b.witness.serve(a.address, second)
    expect(await witnessRecords(b.log)).toEqual([first, second])
  })

  it('more notices than messages between the two, and at most eight ahead however many messages', async () => {
    const { a, b, clock } = await dealing()
    const notice = async (): Promise<SignedHead> => {
      await append(a.log, 1)
      clock.now += 1000
      return await b.witness.serve(a.address, signedHead(a.signer, a.log))
    }
    await notice()
    await expect(notice()).rejects.toThrow(`${a.address} sends more head notices than it exchanged messages`)
    expect(await witnessRecords(b.log)).toHaveLength(1)

    await b.transport.send(a.address, message) // a message the other way counts as well
    await notice()
    expect(await witnessRecords(b.log)).toHaveLength(2)

    for (let i = 0; i < 20; i++) await a.transport.send(b.address, message)
    for (let i = 0; i < 8; i++) await notice()
    await expect(notice()).rejects.toThrow(/more head notices/)
    expect(await witnessRecords(b.log)).toHaveLength(10)
  })

  it('answers a head no newer than the last logged without logging it again', async () => {
    const { a, b, clock } = await dealing()
    await append(a.log, 2)
    const newer = signedHead(a.signer, a.log)
    const answer = await b.witness.serve(a.address, newer)
    expect(answer).toMatchObject({ seq: b.log.length, hash: b.log.head().hash, signer: b.address })
    const length = b.log.length
    clock.now += 10 // well within the interval: a head no newer is not limited
    const again = await b.witness.serve(a.address, newer)
    const older = await b.witness.serve(a.address, signedHead(a.signer, { head: () => ({ seq: 1, hash: '0'.repeat(64) }) }))
    expect(b.log.length).toBe(length)
    expect(again).toEqual(answer)
    expect(older).toMatchObject({ seq: length, signer: b.address })
    expect(headSigner(older)).toBe(b.address)
    expect(await witnessRecords(b.log)).toEqual([newer])
  })
})

describe('log witness: a peer that cannot be reached', () => {
  it('is tried on each flush, waiting longer each time, and given up after five failures, while the others still get theirs', async () => {
    const net = new MemoryNetwork()
    let t = 1_000_000
    const a = await node(net, 1, { now: () => t })
    const b = await node(net, 2)
    const c = await node(net, 3, { minIntervalMs: 0 })
    await a.transport.send(b.address, message)
    await a.transport.send(c.address, message)
    net.leave(b.address)
    const toB = (): number => a.link.exchangeHead.mock.calls.filter(([peer]) => peer === b.address.toLowerCase()).length

    for (let i = 1; i <= 5; i++) {
      await append(a.log, 1)
      await a.witness.flush()
      expect(toB()).toBe(i)
      await a.witness.flush() // too soon after the failure: B is not tried
      expect(toB()).toBe(i)
      t += 1000 * 2 ** i
      expect(a.errors).toHaveLength(i)
      expect(a.errors[i - 1]).toEqual({ peer: b.address.toLowerCase(), message: expect.stringMatching(/not reachable/) })
    }
    expect(await witnessRecords(c.log)).toHaveLength(1) // C answered the first notice, and is owed none since
    expect((await receiptOf(a, c))!.seq).toBe(c.log.length)

    await append(a.log, 1)
    await a.witness.flush()
    expect(toB()).toBe(5)
    expect(a.errors).toHaveLength(5)
  })

  it('is given up when its link rejects, and tried again once it is dealt with anew', async () => {
    const net = new MemoryNetwork()
    let t = 1_000_000
    const a = await node(net, 1, { now: () => t })
    const b = await node(net, 2)
    a.link.exchangeHead.mockRejectedValue(new Error('connection refused'))
    await a.transport.send(b.address, message)
    await append(a.log, 1)
    for (let i = 0; i < 7; i++) {
      await a.witness.flush()
      t += 60_000
    }
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(5)
    expect(a.errors.map(e => e.message)).toEqual(Array(5).fill('connection refused'))

    a.link.exchangeHead.mockImplementation(async (peer, head) => await a.transport.exchangeHead(peer, head))
    await a.transport.send(b.address, message)
    await append(a.log, 1)
    await a.witness.flush()
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(6)
    expect(await witnessRecords(b.log)).toHaveLength(1)
  })

  it('that answers with a head it did not sign counts as failed', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 1)
    const b = await node(net, 2)
    const c = await node(net, 3)
    a.link.exchangeHead.mockResolvedValue(signedHead(c.signer, c.log))
    await a.transport.send(b.address, message)
    await append(a.log, 1)
    await a.witness.flush()
    expect(a.errors).toEqual([{ peer: b.address.toLowerCase(), message: expect.stringMatching(/did not sign/) }])
    expect(await receiptOf(a, b)).toBeUndefined()
  })
})

describe('log witness: peers it heard from', () => {
  it('are noticed too, not only those it sent to; a peer it never dealt with is not', async () => {
    const net = new MemoryNetwork()
    const a = await node(net, 1)
    const b = await node(net, 2)
    const c = await node(net, 3)
    await b.transport.send(a.address, message) // A only heard from B
    await append(c.log, 1)

    await a.witness.flush()
    expect(a.link.exchangeHead).toHaveBeenCalledTimes(1)
    expect(a.link.exchangeHead.mock.calls[0]![0]).toBe(b.address.toLowerCase())
    expect(await witnessRecords(b.log)).toEqual([expect.objectContaining({ seq: a.log.length, hash: a.log.head().hash, signer: a.address })])
    expect((await receiptOf(a, b))!.seq).toBe(b.log.length)
    expect(await witnessRecords(c.log)).toEqual([])

    await b.witness.flush() // B's message carried its head, and B logged nothing of its own since
    expect(b.link.exchangeHead).not.toHaveBeenCalled()
  })
})
