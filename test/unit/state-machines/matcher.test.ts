import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import { compareOffers, matchBook, matchByScan, matchInBookOrder, matchOffers, mismatchReason, OfferTraitsMemo, OrderBook, type MatchableJob, type MatchableOffer } from '../../../src/state-machines/matcher.ts'

const SOLVER = '0x00000000000000000000000000000000000000aa'
const M1 = '0x00000000000000000000000000000000000000m1'.replace('m1', '01')
const M2 = '0x0000000000000000000000000000000000000002'

const job = (o: Partial<MatchableJob> = {}): MatchableJob => ({
  id: 'j', cpu: 1000, gpu: 1, gpuVramMb: 8000, ramMb: 2000, diskMb: 10_000, submitWithin: 600_000, moduleRepo: 'cowsay',
  maxPrice: 100n, trustedMediators: [M1], trustedSolvers: [SOLVER], receivedAt: 0, ...o
})
const offer = (o: Partial<MatchableOffer> = {}): MatchableOffer => ({
  id: 'o', cpu: 2000, gpu: 1, gpuVramMb: 16_000, ramMb: 4000, diskMb: 20_000, maxSubmitWithin: 3600_000, modules: [],
  price: 50n, trustedMediators: [M1], trustedSolvers: [SOLVER], receivedAt: 0, ...o
})

describe('mismatch reasons', () => {
  test('a fitting pair matches', () => {
    expect(mismatchReason(job(), offer(), SOLVER)).toBeNull()
  })
  test.each([
    ['cpu', {}, { cpu: 999 }],
    ['gpu', {}, { gpu: 0 }],
    ['vram', {}, { gpuVramMb: 7999 }],
    ['ram', {}, { ramMb: 1999 }],
    ['disk', {}, { diskMb: 9999 }],
    ['window', { submitWithin: 3600_001 }, {}],
    ['window', {}, { maxSubmitWithin: 599_999 }],
    ['module', {}, { modules: ['other'] }],
    ['price', { maxPrice: 49n }, {}],
    ['mediator', { trustedMediators: [M2] }, {}],
    ['solver', { trustedSolvers: [M2] }, {}],
    ['solver', {}, { trustedSolvers: [M2] }]
  ] as const)('%s', (reason, j, o) => {
    expect(mismatchReason(job(j), offer(o), SOLVER)).toBe(reason)
    expect(new OrderBook([offer(o)], SOLVER).bestFor(job(j))).toBeUndefined()
  })
  test('a job whose submit window is the slot\'s longest fits it', () => {
    expect(mismatchReason(job({ submitWithin: 3600_000 }), offer(), SOLVER)).toBeNull()
    expect(new OrderBook([offer()], SOLVER).bestFor(job({ submitWithin: 3600_000 }))?.offer.id).toBe('o')
  })
  test('an allow-list that names the module, or an empty one, allows it; VRAM does not matter without GPUs', () => {
    expect(mismatchReason(job(), offer({ modules: ['x', 'cowsay'] }), SOLVER)).toBeNull()
    expect(mismatchReason(job({ gpu: 0, gpuVramMb: 99_999 }), offer({ gpu: 0, gpuVramMb: 0 }), SOLVER)).toBeNull()
  })
})

describe('choice', () => {
  test('the cheapest offer wins, then the oldest', () => {
    const offers = [
      offer({ id: 'dear', price: 90n, receivedAt: 0 }),
      offer({ id: 'cheap-new', price: 40n, receivedAt: 9 }),
      offer({ id: 'cheap-old', price: 40n, receivedAt: 3 }),
      offer({ id: 'cheapest-but-small', price: 1n, cpu: 10 })
    ]
    const book = new OrderBook(offers, SOLVER)
    expect(book.bestFor(job())?.offer.id).toBe('cheap-old')
    book.take('cheap-old')
    expect(book.bestFor(job())?.offer.id).toBe('cheap-new')
    book.take('cheap-new')
    expect(book.bestFor(job())?.offer.id).toBe('dear')
    book.take('dear')
    expect(book.bestFor(job())).toBeUndefined()
  })

  test('an offer is proposed to one job only; older jobs choose first', () => {
    const book = new OrderBook([offer({ id: 'a', price: 10n }), offer({ id: 'b', price: 20n })], SOLVER)
    const matches = book.matchAll([job({ id: 'young', receivedAt: 5 }), job({ id: 'old', receivedAt: 1 }), job({ id: 'late', receivedAt: 9 })])
    expect(matches.map(m => [m.job.id, m.offer.id])).toEqual([['old', 'a'], ['young', 'b']])
  })

  test('the mediators of a match are those both trust, in the job\'s order', () => {
    const m = new OrderBook([offer({ trustedMediators: [M2, M1] })], SOLVER).bestFor(job({ trustedMediators: [M1, M2] }))
    expect(m?.mediators).toEqual([M1, M2])
  })
})

describe('the order book agrees with checking every pair', () => {
  const shapes = [
    { cpu: 1000, gpu: 0, gpuVramMb: 0, ramMb: 1000, diskMb: 1000, maxSubmitWithin: 600_000 },
    { cpu: 4000, gpu: 1, gpuVramMb: 8000, ramMb: 8000, diskMb: 8000, maxSubmitWithin: 3600_000 },
    { cpu: 8000, gpu: 2, gpuVramMb: 16_000, ramMb: 4000, diskMb: 50_000, maxSubmitWithin: 1800_000 }
  ]
  const mods = ['a', 'b', 'c']
  const meds = [M1, M2]
  const offerArb = fc.record({
    shape: fc.constantFrom(...shapes), modules: fc.subarray(mods), price: fc.bigInt({ min: 1n, max: 20n }),
    mediators: fc.subarray(meds, { minLength: 1 }), solverOk: fc.boolean(), receivedAt: fc.integer({ min: 0, max: 5 })
  })
  const jobArb = fc.record({
    cpu: fc.integer({ min: 0, max: 9000 }), gpu: fc.integer({ min: 0, max: 2 }), gpuVramMb: fc.integer({ min: 0, max: 17_000 }),
    ramMb: fc.integer({ min: 0, max: 9000 }), diskMb: fc.integer({ min: 0, max: 60_000 }), submitWithin: fc.integer({ min: 60_000, max: 4000_000 }), moduleRepo: fc.constantFrom(...mods),
    maxPrice: fc.bigInt({ min: 0n, max: 20n }), mediators: fc.subarray(meds, { minLength: 1 }), quorum: fc.constantFrom(1, 1, 2), receivedAt: fc.integer({ min: 0, max: 5 })
  })

  test('greedy matching equals the brute-force choice for every job', () => {
    fc.assert(fc.property(fc.array(offerArb, { maxLength: 25 }), fc.array(jobArb, { maxLength: 25 }), (os, js) => {
      const offers = os.map((o, i) => ({ id: `o${i}`, ...o.shape, modules: o.modules, price: o.price, trustedMediators: o.mediators, trustedSolvers: o.solverOk ? [SOLVER] : [M2], receivedAt: o.receivedAt }))
      const jobs = js.map((j, i) => ({ id: `j${i}`, ...j, trustedMediators: j.mediators, trustedSolvers: [SOLVER] }))
      const fast = new OrderBook(offers, SOLVER).matchAll(jobs).map(m => [m.job.id, m.offer.id])
      const taken = new Set<string>()
      const slow: string[][] = []
      for (const j of [...jobs].sort((a, b) => a.receivedAt - b.receivedAt || (a.id < b.id ? -1 : 1))) {
        const best = offers.filter(o => !taken.has(o.id) && mismatchReason(j, o, SOLVER) === null).sort(compareOffers)[0]
        if (best === undefined) continue
        taken.add(best.id)
        slow.push([j.id, best.id])
      }
      expect(fast).toEqual(slow)
    }), { numRuns: 300 })
  })

  test('scanning the offers for each job (as a round with few jobs does) makes the same matches as the book', () => {
    fc.assert(fc.property(fc.array(offerArb, { maxLength: 25 }), fc.array(jobArb, { maxLength: 6 }), (os, js) => {
      const offers = os.map((o, i) => ({ id: `o${i}`, ...o.shape, modules: o.modules, price: o.price, trustedMediators: o.mediators, trustedSolvers: o.solverOk ? [SOLVER] : [M2], receivedAt: o.receivedAt }))
      const jobs = js.map((j, i) => ({ id: `j${i}`, ...j, trustedMediators: j.mediators, trustedSolvers: [SOLVER.toUpperCase().replace('0X', '0x')] }))
      const book = new OrderBook(offers, SOLVER).matchAll(jobs)
      expect(matchByScan(offers, jobs, SOLVER)).toEqual(book)
      expect(matchOffers(offers, jobs, SOLVER)).toEqual(book)
    }), { numRuns: 300 })
  })

  test('an offer given the traits of an earlier one matches as it would alone, whether their terms are the same or not', () => {
    const change = fc.constantFrom('none', 'price', 'mediators', 'modules', 'solvers', 'case')
    fc.assert(fc.property(fc.array(fc.tuple(offerArb, change), { maxLength: 12 }), fc.array(jobArb, { maxLength: 6 }), (os, js) => {
      const earlier = os.map(([o], i) => ({ id: `e${i}`, ...o.shape, modules: o.modules, price: o.price, trustedMediators: o.mediators, trustedSolvers: o.solverOk ? [SOLVER] : [M2], receivedAt: o.receivedAt }))
      const renewed = (): MatchableOffer[] => os.map(([, c], i) => {
        const e = earlier[i] as MatchableOffer
        return {
          ...e,
          id: `r${i}`,
          receivedAt: e.receivedAt + 1,
          price: c === 'price' ? e.price + 1n : e.price,
          trustedMediators: c === 'mediators' ? (e.trustedMediators.length > 1 ? e.trustedMediators.slice(1) : [M1, M2]) : c === 'case' ? e.trustedMediators.map(m => m.toUpperCase().replace('0X', '0x')) : [...e.trustedMediators],
          modules: c === 'modules' ? [...e.modules, 'z'] : [...e.modules],
          trustedSolvers: c === 'solvers' ? (e.trustedSolvers[0] === SOLVER ? [M2] : [SOLVER]) : [...e.trustedSolvers]
        }
      })
      const jobs = js.map((j, i) => ({ id: `j${i}`, ...j, trustedMediators: j.mediators, trustedSolvers: [SOLVER] }))
      const memo = new OfferTraitsMemo()
      matchByScan(earlier, jobs, SOLVER, memo) // derives the earlier offers' traits
      const inheriting = renewed()
      inheriting.forEach((o, i) => { memo.inherit(earlier[i] as MatchableOffer, o) })
      expect(matchByScan(inheriting, jobs, SOLVER, memo)).toEqual(matchByScan(renewed(), jobs, SOLVER))
      expect(matchInBookOrder([...inheriting].sort(compareOffers), jobs, SOLVER, o => o, memo)).toEqual(new OrderBook(renewed(), SOLVER).matchAll(jobs))
    }), { numRuns: 300 })
  })

  test('a book kept in book order, read up to the first usable fit, makes the same matches as the book', () => {
    fc.assert(fc.property(fc.array(offerArb, { maxLength: 25 }), fc.array(jobArb, { maxLength: 6 }), fc.array(fc.boolean(), { minLength: 25, maxLength: 25 }), (os, js, held) => {
      const offers = os.map((o, i) => ({ id: `o${i}`, ...o.shape, modules: o.modules, price: o.price, trustedMediators: o.mediators, trustedSolvers: o.solverOk ? [SOLVER] : [M2], receivedAt: o.receivedAt }))
      const jobs = js.map((j, i) => ({ id: `j${i}`, ...j, trustedMediators: j.mediators, trustedSolvers: [SOLVER] }))
      const free = offers.filter((_, i) => held[i] !== true)
      const sorted = [...offers].sort(compareOffers)
      const usable = (o: typeof offers[number]): typeof o | undefined => held[offers.indexOf(o)] === true ? undefined : o
      const inOrder = matchInBookOrder(sorted, jobs, SOLVER, usable)
      expect(inOrder).toEqual(new OrderBook(free, SOLVER).matchAll(jobs))
      expect(matchBook(sorted, jobs, SOLVER, usable)).toEqual(inOrder)
    }), { numRuns: 300 })
  })
})
