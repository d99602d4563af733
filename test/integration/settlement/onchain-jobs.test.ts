/**
 * LilypadJobs on a real chain: a contract asks for a job, a relayer's deal for it settles, and the
 * delivery pays the relayer and calls the contract back, or is refused where the deal, its outcome,
 * its results or its job offer are not those of the request.
 */
import { Signature } from 'ethers'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  chainTime, ExampleCowsayClient, NO_OUTPUT, OnchainJobsClient, toSettlementError, type JobSpec, type JobTerms, type OutputProof, type SettlementErrorCode, type SignedDeal
} from '../../../src/settlement/index.ts'
import { parseCid } from '../../../src/executor/results/cid.ts'
import { pathProof } from '../../../src/executor/results/path-proof.ts'
import type { JobOffer } from '../../../src/protocols/messages/schemas.ts'
import { messageId } from '../../../src/protocols/messages/signing.ts'
import { CID, OTHER_CID, common, depositAll, makeDeal, sign, signAs, startFixture, type Fixture } from './fixture.ts'
import { expectCode } from './assertions.ts'
import { COWSAY, dealFor, offerFor } from './jobs.ts'
import { COW, resultsFolder } from './results-folder.ts'
import { challenge, commit, passDeadline, resultsFor } from './outcomes.ts'

let f: Fixture
/** the relayer: the fixture's job creator */
let relayer: OnchainJobsClient
/** another relayer, and the owner of the example clients */
let other: OnchainJobsClient
let cowsay: ExampleCowsayClient
/** the proof of the stdout of the fixture's results (CID), which the example client asks for */
let STDOUT: OutputProof

const DAY = 24 * 3600_000
const PAYMENT = 5000n
const FEE = 100n
/** what an Accepted deal of the fixture costs its job creator: price and solver fee */
const ACCEPTED_COST = 1010n

beforeAll(async () => {
  f = await startFixture({ onchainJobs: true })
  await depositAll(f)
  const jobs = f.deployment.onchainJobs as string
  relayer = await OnchainJobsClient.attach(f.clients.jobCreator, jobs)
  other = await OnchainJobsClient.attach(f.clients.outsider, jobs)
  cowsay = await ExampleCowsayClient.deploy(other)
  await cowsay.fund(100_000n)
  const folder = await resultsFolder()
  expect(folder.cid.toString()).toBe(CID)
  STDOUT = { path: 'stdout', blocks: await pathProof(folder.blockstore, folder.cid, 'stdout') }
}, 180_000)
afterAll(async () => { await f?.stop() })

async function nowMs (): Promise<number> {
  return (await chainTime(f.clients.outsider.provider)) * 1000
}

/** The example client asks for `cowsay <message>`. */
async function ask (message: string, options: { payment?: bigint, deadlineIn?: number, claimWindow?: number, client?: ExampleCowsayClient } = {}): Promise<string> {
  const receipt = await (options.client ?? cowsay).ask({
    ...COWSAY,
    message,
    payment: options.payment ?? PAYMENT,
    relayerFee: FEE,
    deadline: await nowMs() + (options.deadlineIn ?? DAY),
    claimWindow: options.claimWindow ?? 60_000
  })
  return receipt.requestId
}

async function tokens (account: string): Promise<bigint> {
  return await f.clients.outsider.tokenBalanceOf(account)
}

describe('contracts ask for jobs', () => {
  it('hashes a job offer as the wire does', async () => {
    const offer = offerFor(f, '0x' + 'ab'.repeat(32), 'moo', {
      image: 'docker.io/library/busybox@sha256:' + '0f'.repeat(32),
      inputsCid: 'QmYwAPJzv5CZsnAzt8auVZRnG6VZzwBDD3Xc3w8ZvT4qJo',
      urlPins: '{"https://example.com/a":"QmYwAPJzv5CZsnAzt8auVZRnG6VZzwBDD3Xc3w8ZvT4qJo"}',
      gpu: 2,
      gpuVramMb: 24_000,
      trustedMediators: [f.wallets.mediator.address, f.wallets.otherMediator.address],
      quorum: 2,
      trustedSolvers: []
    })
    expect(await relayer.jobs.getFunction('jobOfferId').staticCall(offer)).toBe(messageId(f.clients.jobCreator.domain, 'JobOffer', offer))
  })

  it('delivers the results of a deal settled for the request: the relayer is paid its cost and fee, the rest goes back, the client keeps the CID', async () => {
    const requestId = await ask('moo')
    const [request] = (await relayer.requestsSince(0)).filter(r => r.requestId === requestId)
    expect(request).toMatchObject({
      requester: cowsay.address,
      spec: { ...COWSAY, inputs: '{"Message":"moo"}', outputPath: 'stdout', outputLimit: 512 },
      terms: { payment: PAYMENT, relayerFee: FEE, claimWindow: 60_000, callbackGasLimit: 700_000, claimBond: FEE, maxMediatorFee: PAYMENT / 4n }
    })
    expect(await relayer.requestOf(requestId)).toMatchObject({ status: 'Open', requester: cowsay.address, claimant: undefined, terms: request?.terms })

    const offer = offerFor(f, requestId, 'moo')
    const signed = await dealFor(f, offer)
    const before = await Promise.all([tokens(f.wallets.jobCreator.address), tokens(cowsay.address), tokens(f.wallets.outsider.address)])
    // anyone may bring the delivery: the deal's job creator is paid all the same
    const receipt = await other.deliver(requestId, signed, offer, CID, STDOUT)
    expect(receipt.callbackOk).toBe(true)
    expect(receipt.dealId).toBe(f.clients.jobCreator.dealId(signed.deal))
    const after = await Promise.all([tokens(f.wallets.jobCreator.address), tokens(cowsay.address), tokens(f.wallets.outsider.address)])
    expect(after[0] - before[0]).toBe(ACCEPTED_COST + FEE)
    expect(after[1] - before[1]).toBe(PAYMENT - ACCEPTED_COST - FEE)
    expect(after[2]).toBe(before[2])
    expect(await tokens(f.deployment.onchainJobs as string)).toBe(0n)

    expect(await cowsay.resultsCidOf(requestId)).toBe(CID)
    expect(await relayer.resultOf(requestId)).toEqual({ resultsCid: CID, dealId: receipt.dealId, relayer: f.wallets.jobCreator.address })
    expect((await relayer.requestOf(requestId)).status).toBe('Delivered')
    // once only, whatever the deal
    await expectCode(relayer.deliver(requestId, signed, offer, CID, STDOUT), 'REQUEST_NOT_OPEN')
    await expectCode(relayer.deliver(requestId, await dealFor(f, offer), offer, CID, STDOUT), 'REQUEST_NOT_OPEN')
    await expectCode(relayer.refund(requestId), 'REQUEST_NOT_OPEN')
  })

  it('delivers mediated deals whose results were upheld, paying the relayer what the mediation cost it', async () => {
    // the one judge drawn, then 2 of 2 mediators, whose even split of an odd fee leaves a wei to the creator
    for (const [quorum, cost] of [[1, ACCEPTED_COST + 50n], [2, ACCEPTED_COST + 52n]] as const) {
      const requestId = await ask(`upheld by ${quorum}`)
      const offer = offerFor(f, requestId, `upheld by ${quorum}`)
      const deposit = await f.clients.jobCreator.balanceOf()
      const signed = quorum === 1 ? await dealFor(f, offer, 'MediationAccepted') : await upheldByTwo(offer)
      expect(deposit - await f.clients.jobCreator.balanceOf()).toBe(cost)
      const before = await tokens(f.wallets.jobCreator.address)
      expect((await relayer.deliver(requestId, signed, offer, CID, STDOUT)).callbackOk).toBe(true)
      expect(await tokens(f.wallets.jobCreator.address) - before).toBe(cost + FEE)
      expect(await cowsay.resultsCidOf(requestId)).toBe(CID)
    }
    // a mediation dearer than the request repays (the example's cap: a quarter of its payment) is the relayer's loss
    const requestId = await ask('dear mediation')
    const offer = offerFor(f, requestId, 'dear mediation')
    const signed = await dealFor(f, offer, 'MediationAccepted', { deal: { mediatorFee: '1900', paymentCollateral: '3000', timeoutCollateral: '1900' } })
    const [relayerBefore, clientBefore] = await Promise.all([tokens(f.wallets.jobCreator.address), tokens(cowsay.address)])
    await relayer.deliver(requestId, signed, offer, CID, STDOUT)
    expect(await tokens(f.wallets.jobCreator.address) - relayerBefore).toBe(ACCEPTED_COST + PAYMENT / 4n + FEE)
    expect(await tokens(cowsay.address) - clientBefore).toBe(PAYMENT - ACCEPTED_COST - PAYMENT / 4n - FEE)
  })

  it('brings back the first bytes of the file the request asked for, proven from the results\' CID', async () => {
    const requestId = await ask('moo')
    const offer = offerFor(f, requestId, 'moo')
    const receipt = await relayer.deliver(requestId, await dealFor(f, offer), offer, CID, STDOUT)
    expect(Buffer.from(receipt.output).toString()).toBe(COW)
    expect(await cowsay.cowOf(requestId)).toBe(COW)
    // read again later from the CID on record
    const { resultsCid } = (await relayer.resultOf(requestId))!
    expect(Buffer.from(await relayer.readOutput(resultsCid, STDOUT, 512)).toString()).toBe(COW)
    expect(Buffer.from(await relayer.readOutput(resultsCid, STDOUT, 7)).toString()).toBe(COW.slice(0, 7))

    // a file of many chunks: its first chunk is reached through its first links
    const long = await resultsFolder(new Uint8Array(300_000).map((_, i) => 97 + i % 26))
    const proof = { path: 'stdout', blocks: await pathProof(long.blockstore, long.cid, 'stdout') }
    expect(proof.blocks.length).toBe(3)
    const first = Buffer.from(await relayer.readOutput(long.cid.toString(), proof, 16_384))
    expect(first.length).toBe(16_384)
    expect(first.subarray(0, 28).toString()).toBe('abcdefghijklmnopqrstuvwxyzab')
  })

  it('refuses an output not proven from the results\' CID, or not the one asked for', async () => {
    const requestId = await ask('proof')
    const offer = offerFor(f, requestId, 'proof')
    const signed = await dealFor(f, offer)
    const [folder, stdout] = STDOUT.blocks as [Uint8Array, Uint8Array]
    const other = await resultsFolder('not the cow\n')
    const otherStdout = (await pathProof(other.blockstore, other.cid, 'stdout'))[1]!
    const stderr = await pathProof((await resultsFolder()).blockstore, parseCid(CID), 'stderr')
    const cases: Array<{ output: OutputProof, code: SettlementErrorCode }> = [
      { output: { path: 'stdout', blocks: [folder, otherStdout] }, code: 'BLOCK_NOT_OF_LINK' },
      { output: { path: 'stdout', blocks: [stdout, stdout] }, code: 'BLOCK_NOT_OF_LINK' },
      { output: { path: 'stdout', blocks: [folder] }, code: 'PROOF_SHORT' },
      { output: { path: 'stderr', blocks: stderr }, code: 'OFFER_NOT_AS_REQUESTED' },
      { output: NO_OUTPUT, code: 'OFFER_NOT_AS_REQUESTED' }
    ]
    for (const { output, code } of cases) await expectCode(relayer.deliver(requestId, signed, offer, CID, output), code)
    // no file of another name, and no path through a file
    await expectCode(relayer.readOutput(CID, { path: 'stdin', blocks: [folder] }, 10), 'NO_SUCH_ENTRY')
    await expectCode(relayer.readOutput(CID, { path: 'stdout/x', blocks: [folder, stdout] }, 10), 'NOT_A_DIRECTORY')
    await expectCode(relayer.readOutput(CID, { path: 'stdout//', blocks: [folder, stdout] }, 10), 'BAD_PATH')
    await expectCode(relayer.readOutput(other.cid.toString().replace('Qm', 'Qn'), STDOUT, 10), 'NOT_A_CID_V0')
    expect((await relayer.requestOf(requestId)).status).toBe('Open')
    expect((await relayer.deliver(requestId, signed, offer, CID, STDOUT)).callbackOk).toBe(true)
  })

  it('refuses results the settlement does not hold for the deal', async () => {
    const requestId = await ask('which cid')
    const offer = offerFor(f, requestId, 'which cid')
    const committed = await dealFor(f, offer)
    await expectCode(relayer.deliver(requestId, committed, offer, OTHER_CID, STDOUT), 'RESULTS_NOT_OF_DEAL')
    // accepted without the results put on chain: the settlement holds no CID at all
    const uncommitted = await dealFor(f, offer, 'Accepted', { commit: false })
    await expectCode(relayer.deliver(requestId, uncommitted, offer, CID, STDOUT), 'RESULTS_NOT_OF_DEAL')
    expect((await relayer.requestOf(requestId)).status).toBe('Open')
  })

  it('delivers a deal accepted with no results on chain on the provider\'s signed results, and no results it did not sign', async () => {
    const requestId = await ask('signed')
    const offer = offerFor(f, requestId, 'signed')
    const signed = await dealFor(f, offer, 'Accepted', { commit: false })
    const dealId = f.clients.jobCreator.dealId(signed.deal)
    const { results, signature } = await resultsFor(f, signed.deal, CID)
    // signed by the relayer, for another deal, or of another CID than the settlement holds
    const byCreator = { ...results, author: f.wallets.jobCreator.address }
    await expectCode(relayer.deliverWithResults(requestId, signed, offer, { message: byCreator, signature: await signAs(f, 'jobCreator', 'ResultsSubmitted', byCreator) }, STDOUT), 'RESULTS_NOT_BY_PROVIDER')
    await expectCode(relayer.deliverWithResults(requestId, signed, offer, { message: results, signature: await signAs(f, 'jobCreator', 'ResultsSubmitted', results) }, STDOUT), 'RESULTS_NOT_BY_PROVIDER')
    const elsewhere = await resultsFor(f, (await dealFor(f, offer, 'unsettled')).deal, CID)
    await expectCode(relayer.deliverWithResults(requestId, signed, offer, { message: elsewhere.results, signature: elsewhere.signature }, STDOUT), 'RESULTS_NOT_OF_DEAL')
    const committed = await dealFor(f, offer)
    const other = await resultsFor(f, committed.deal, OTHER_CID)
    await expectCode(relayer.deliverWithResults(requestId, committed, offer, { message: other.results, signature: other.signature }, STDOUT), 'RESULTS_NOT_OF_DEAL')

    const receipt = await relayer.deliverWithResults(requestId, signed, offer, { message: results, signature: Signature.from(signature).compactSerialized }, STDOUT)
    expect(receipt).toMatchObject({ dealId, callbackOk: true })
    expect(await cowsay.resultsCidOf(requestId)).toBe(CID)
  })

  it('refuses a deal that is not settled, or that settled without its results accepted', async () => {
    const requestId = await ask('unsettled')
    const offer = offerFor(f, requestId, 'unsettled')
    await expectCode(relayer.deliver(requestId, await dealFor(f, offer, 'unsettled'), offer, CID, STDOUT), 'DEAL_NOT_SETTLED')
    const committedOnly = await dealFor(f, offer, 'unsettled')
    const { results, signature } = await resultsFor(f, committedOnly.deal)
    await f.clients.jobCreator.commitResults(committedOnly, results, signature)
    await expectCode(relayer.deliver(requestId, committedOnly, offer, CID, STDOUT), 'DEAL_NOT_SETTLED')
    for (const outcome of ['TimeoutSubmit', 'TimeoutJudge', 'MediationRejected'] as const) {
      const err = await expectCode(relayer.deliver(requestId, await dealFor(f, offer, outcome), offer, CID, STDOUT), 'DEAL_NOT_ACCEPTED')
      expect(err.message).toContain(outcome)
    }
    expect(await cowsay.resultsCidOf(requestId)).toBeUndefined()
  })

  it('refuses a deal whose job offer is not the request\'s: another request, module, inputs, input data or author', async () => {
    const requestId = await ask('mine')
    const elsewhere = await ask('mine')
    const cases = [
      { offer: offerFor(f, elsewhere, 'mine'), code: 'OFFER_FOR_ANOTHER_REQUEST' },
      { offer: offerFor(f, requestId, 'mine', { moduleCommit: 'b1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2' }), code: 'OFFER_NOT_AS_REQUESTED' },
      { offer: offerFor(f, requestId, 'not mine'), code: 'OFFER_NOT_AS_REQUESTED' },
      { offer: offerFor(f, requestId, 'mine', { inputsCid: 'QmYwAPJzv5CZsnAzt8auVZRnG6VZzwBDD3Xc3w8ZvT4qJo' }), code: 'OFFER_NOT_AS_REQUESTED' },
      { offer: offerFor(f, requestId, 'mine', { author: f.wallets.outsider.address }), code: 'OFFER_NOT_BY_CREATOR' }
    ] as const
    for (const { offer, code } of cases) await expectCode(relayer.deliver(requestId, await dealFor(f, offer), offer, CID, STDOUT), code)
    // an offer that is not the one the deal names
    const named = await dealFor(f, offerFor(f, requestId, 'mine', { expiry: 1 }))
    await expectCode(relayer.deliver(requestId, named, offerFor(f, requestId, 'mine'), CID, STDOUT), 'OFFER_NOT_OF_DEAL')
    expect((await relayer.requestOf(requestId)).status).toBe('Open')
  })

  it('refuses a delivery whose deal cost more than the request pays', async () => {
    const requestId = await ask('dear', { payment: ACCEPTED_COST + FEE - 1n })
    const offer = offerFor(f, requestId, 'dear')
    await expectCode(relayer.deliver(requestId, await dealFor(f, offer), offer, CID, STDOUT), 'PAYMENT_SHORT')
  })

  it('delivers all the same when the callback reverts or burns its gas, and the result stays readable', async () => {
    const codes = { reverts: '0x60006000fd', 'burns its gas': '0x5b600056' }
    for (const [what, code] of Object.entries(codes)) {
      const client = await ExampleCowsayClient.deploy(other)
      await client.fund(PAYMENT)
      const requestId = await ask(what, { client })
      const offer = offerFor(f, requestId, what)
      const signed = await dealFor(f, offer)
      await f.clients.outsider.provider.send('anvil_setCode', [client.address, code])
      const receipt = await relayer.deliver(requestId, signed, offer, CID, STDOUT)
      expect(receipt.callbackOk, what).toBe(false)
      expect(await relayer.resultOf(requestId)).toMatchObject({ resultsCid: CID, relayer: f.wallets.jobCreator.address })
      expect(await tokens(client.address)).toBe(PAYMENT - ACCEPTED_COST - FEE)
    }
  })

  it('lets no sender starve the callback of its gas', async () => {
    const requestId = await ask('starved')
    const offer = offerFor(f, requestId, 'starved')
    const signed = await dealFor(f, offer)
    const deliver = relayer.jobs.getFunction('deliver')
    const needed = await deliver.estimateGas(requestId, signed.deal, offer, CID, STDOUT)
    const starved = deliver.staticCall(requestId, signed.deal, offer, CID, STDOUT, { gasLimit: needed - 60_000n }).catch((err: unknown) => { throw toSettlementError(err, relayer.iface) })
    await expectCode(starved, 'CALLBACK_GAS_SHORT')
    expect((await relayer.deliver(requestId, signed, offer, CID, STDOUT)).callbackOk).toBe(true)
  })

  it('keeps other relayers off while a claim lives, and lets them claim once it lapses', async () => {
    const requestId = await ask('claimed', { claimWindow: 120_000 })
    const claimed = await relayer.claim(requestId)
    expect(claimed.until).toBe((await nowMs()) + 120_000)
    const err = await expectCode(other.claim(requestId), 'ALREADY_CLAIMED')
    expect(err.revert?.args).toMatchObject({ relayer: f.wallets.jobCreator.address, until: BigInt(claimed.until) })
    await expectCode(relayer.claim(requestId), 'ALREADY_CLAIMED')
    expect(await relayer.requestOf(requestId)).toMatchObject({ claimant: f.wallets.jobCreator.address, claimedUntil: claimed.until })
    await passDeadline(f, claimed.until - 1)
    const next = await other.claim(requestId)
    expect((await relayer.requestOf(requestId)).claimant).toBe(f.wallets.outsider.address)
    // a delivery needs no claim: the relayer whose claim lapsed still delivers
    const offer = offerFor(f, requestId, 'claimed')
    await relayer.deliver(requestId, await dealFor(f, offer), offer, CID, STDOUT)
    expect(await cowsay.resultsCidOf(requestId)).toBe(CID)
    expect(next.until).toBeGreaterThan(claimed.until)

    // a claim ends at the deadline at the latest, and none is taken after it
    const short = await ask('short', { deadlineIn: 30_000, claimWindow: DAY })
    const deadline = (await relayer.requestOf(short)).terms.deadline
    expect((await relayer.claim(short)).until).toBe(deadline)
    await passDeadline(f, deadline)
    await expectCode(other.claim(short), 'REQUEST_EXPIRED')
  })

  it('a claim stakes the request\'s bond: back to a claimant that delivers, the requester\'s when the claim lapses undelivered', async () => {
    const jobsAddress = f.deployment.onchainJobs as string
    // the relayer claims and lets its claim lapse; the outsider claims
    const requestId = await ask('staked', { claimWindow: 60_000 })
    const [relayerBefore, otherBefore, clientBefore, held] = await Promise.all([tokens(f.wallets.jobCreator.address), tokens(f.wallets.outsider.address), tokens(cowsay.address), tokens(jobsAddress)])
    const first = await relayer.claim(requestId)
    expect(first.bond).toBe(FEE)
    expect(await tokens(jobsAddress) - held).toBe(FEE)
    await passDeadline(f, first.until - 1)
    await other.claim(requestId)
    // the relayer's deal settles after all, and it delivers it while the outsider's claim lives
    const offer = offerFor(f, requestId, 'staked')
    await relayer.deliver(requestId, await dealFor(f, offer), offer, CID, STDOUT)
    const events = (await relayer.provider.getLogs({ address: jobsAddress, topics: [relayer.iface.getEvent('ClaimEnded')!.topicHash], fromBlock: 0 }))
      .map(l => relayer.iface.parseLog(l)!).filter(e => e.args.requestId === requestId).map(e => [e.args.relayer, e.args.forfeited])
    expect(events).toEqual([[f.wallets.jobCreator.address, true], [f.wallets.outsider.address, false]])
    // the relayer lost its bond to the requester and was paid its deal's cost and its fee; the outsider got its bond back
    expect(await tokens(f.wallets.jobCreator.address) - relayerBefore).toBe(ACCEPTED_COST + FEE - FEE)
    expect(await tokens(f.wallets.outsider.address)).toBe(otherBefore)
    expect(await tokens(cowsay.address) - clientBefore).toBe(PAYMENT - ACCEPTED_COST - FEE + FEE)
    expect(await tokens(jobsAddress)).toBe(held - PAYMENT)

    // a claimant that delivers its own deal after its claim lapsed, none other claiming, gets its bond back
    const late = await ask('late but own', { claimWindow: 60_000 })
    const lateClaim = await relayer.claim(late)
    await passDeadline(f, lateClaim.until)
    const lateOffer = offerFor(f, late, 'late but own')
    const before = await tokens(f.wallets.jobCreator.address)
    await relayer.deliver(late, await dealFor(f, lateOffer), lateOffer, CID, STDOUT)
    expect(await tokens(f.wallets.jobCreator.address) - before).toBe(ACCEPTED_COST + FEE + FEE)

    // claimed twice by one relayer and never delivered: both bonds go to the requester with its refund
    const grieved = await ask('grieved', { deadlineIn: 200_000, claimWindow: 60_000 })
    const [clientBeforeGrief, heldBeforeGrief] = await Promise.all([tokens(cowsay.address), tokens(jobsAddress)])
    await passDeadline(f, (await relayer.claim(grieved)).until)
    await relayer.claim(grieved)
    await passDeadline(f, (await relayer.requestOf(grieved)).terms.deadline)
    await other.refund(grieved)
    expect(await tokens(cowsay.address) - clientBeforeGrief).toBe(PAYMENT + 2n * FEE)
    expect(await tokens(jobsAddress)).toBe(heldBeforeGrief - PAYMENT)
  })

  it('refunds an undelivered request only after its deadline, and tells the client', async () => {
    const requestId = await ask('too late', { deadlineIn: 60_000 })
    const offer = offerFor(f, requestId, 'too late')
    const signed = await dealFor(f, offer)
    await expectCode(other.refund(requestId), 'REQUEST_NOT_EXPIRED')
    const before = await tokens(cowsay.address)
    await passDeadline(f, (await relayer.requestOf(requestId)).terms.deadline)
    await expectCode(relayer.deliver(requestId, signed, offer, CID, STDOUT), 'REQUEST_EXPIRED')
    const refunded = await other.refund(requestId)
    expect(refunded.callbackOk).toBe(true)
    expect(await tokens(cowsay.address) - before).toBe(PAYMENT)
    expect(await cowsay.cancelled(requestId)).toBe(true)
    expect(await cowsay.resultsCidOf(requestId)).toBeUndefined()
    expect((await relayer.requestOf(requestId)).status).toBe('Refunded')
    await expectCode(other.refund(requestId), 'REQUEST_NOT_OPEN')
    await expectCode(relayer.deliver(requestId, signed, offer, CID, STDOUT), 'REQUEST_NOT_OPEN')
  })

  it('checks the terms of a request, and an account asks as well as a contract', async () => {
    const spec: JobSpec = { ...COWSAY, inputs: '{"Message":"direct"}', outputPath: '', outputLimit: 0 }
    const now = await nowMs()
    const terms: JobTerms = { payment: 2000n, relayerFee: 10n, deadline: now + DAY, claimWindow: 60_000, callbackGasLimit: 0, claimBond: 0n, maxMediatorFee: 0n }
    await expectCode(relayer.requestJob(spec, { ...terms, deadline: now }), 'DEADLINE_NOT_AHEAD')
    await expectCode(relayer.requestJob(spec, { ...terms, claimWindow: 0 }), 'ZERO_CLAIM_WINDOW')
    await expectCode(relayer.requestJob(spec, { ...terms, relayerFee: 2001n }), 'FEE_ABOVE_PAYMENT')
    await expectCode(relayer.requestJob(spec, { ...terms, callbackGasLimit: 2_500_001 }), 'CALLBACK_GAS_TOO_HIGH')
    await expectCode(relayer.requestJob(spec, { ...terms, payment: 2n ** 129n, relayerFee: 2n ** 128n }), 'AMOUNT_TOO_LARGE')
    await expectCode(relayer.requestJob({ ...spec, outputPath: 'stdout', outputLimit: 16_385 }, terms), 'OUTPUT_LIMIT_TOO_HIGH')
    await expectCode(relayer.requestJob({ ...spec, outputPath: 'stdout' }, terms), 'OUTPUT_HALF_ASKED')
    await expectCode(relayer.requestJob({ ...spec, outputLimit: 10 }, terms), 'OUTPUT_HALF_ASKED')
    const requester = await OnchainJobsClient.attach(f.clients.otherMediator, f.deployment.onchainJobs as string)
    const { requestId } = await requester.requestJob(spec, terms)
    expect(await requester.requestOf(requestId)).toMatchObject({ status: 'Open', requester: f.wallets.otherMediator.address, terms })
    const offer = offerFor(f, requestId, 'direct')
    const receipt = await relayer.deliver(requestId, await dealFor(f, offer), offer, CID)
    expect(receipt.callbackOk).toBe(false)
    expect((await relayer.resultOf(requestId))?.resultsCid).toBe(CID)
    expect((await relayer.requestOf('0x' + '00'.repeat(32))).status).toBe('None')
    expect(await relayer.resultOf('0x' + '00'.repeat(32))).toBeUndefined()
  })

  it('the example client asks only for its owner, for messages its JSON need not escape, and takes callbacks only from the jobs contract', async () => {
    for (const message of ['say "hi"', 'back\\slash', 'new\nline']) await expectCode(ask(message), 'BAD_MESSAGE')
    const asOther = new ExampleCowsayClient(relayer, cowsay.contract.connect(relayer.wallet) as typeof cowsay.contract)
    await expectCode(ask('mine', { client: asOther }), 'NOT_OWNER')
    await expectCode(other.transact(cowsay.contract, 'lilypadFulfilled', ['0x' + '00'.repeat(32), CID, '0x']), 'NOT_THE_JOBS_CONTRACT')
    await expectCode(other.transact(cowsay.contract, 'lilypadCancelled', ['0x' + '00'.repeat(32)]), 'NOT_THE_JOBS_CONTRACT')
  })
})

/** A deal for `offer` whose challenged results two of its two mediators uphold, for a fee of 53. */
async function upheldByTwo (offer: JobOffer): Promise<SignedDeal> {
  const mediators = [f.wallets.mediator.address, f.wallets.otherMediator.address]
  const jobOfferId = messageId(f.clients.jobCreator.domain, 'JobOffer', offer)
  const signed = await sign(f, await makeDeal(f, { jobOfferId, mediators, quorum: 2, mediatorFee: '53' }))
  await commit(f, signed)
  await challenge(f, signed)
  for (const m of ['mediator', 'otherMediator'] as const) {
    const verdict = { ...common(f, m), dealId: f.clients.jobCreator.dealId(signed.deal), resultsCid: CID, mediatorCid: CID, providerAtFault: false }
    await f.clients[m].settleVerdict(signed, verdict, await signAs(f, m, 'MediationVerdict', verdict))
  }
  return signed
}
