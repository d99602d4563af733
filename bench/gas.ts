/**
 * Gas of every settlement path on a real EVM (anvil), measured from transaction receipts:
 * - gas_per_job_batch_{1,10,100}: settleBatch of N accepted deals, divided by N (goal <= 60k at 100),
 *   compared with MODiCuM's happy path (~1.16M gas a job);
 * - gas_<outcome>: the settling transaction of each outcome on its own, plus the transactions the
 *   slow paths need before it (commit, challenge) and the whole path's total;
 * - gas_mediation_one_verdict: the mediated path of a deal from the challenge to its settlement
 *   (challenge, the judge drawn from three mediators taking the case, its verdict), and the
 *   mediator's registration; gas_mediation_quorum_2_of_3: the same path on a deal that asks for 2 of
 *   its 3 mediators' verdicts (two take the case and vote);
 * - deposit, withdrawal request and withdrawal;
 * - gas_onchain_job_request and gas_onchain_job_delivery: a contract (ExampleCowsayClient) asks
 *   LilypadJobs for a job, and a relayer delivers the results of the deal settled for it, with the
 *   client's callback.
 */
import { Contract, Wallet } from 'ethers'
import { report } from './report.ts'
import {
  chainTime, combinedInterface, deployContracts, ExampleCowsayClient, loadArtifacts, OnchainJobsClient, signDeal, signMessage, startDevChain,
  SettlementClient, type AcceptedDeal, type SignedDeal
} from '../src/settlement/index.ts'
import { DEAL_OUTCOMES } from '../src/state-machines/deal-states.ts'
import { CID, common, makeDeal, OTHER_CID, sign, signAs, TOKENS, type Fixture, ROLES } from '../test/integration/settlement/fixture.ts'
import { acceptanceFor, challenge, commit, passDeadline, reachOutcome, resultsFor } from '../test/integration/settlement/outcomes.ts'
import { COWSAY, offerFor } from '../test/integration/settlement/jobs.ts'
import { resultsFolder } from '../test/integration/settlement/results-folder.ts'
import { pathProof } from '../src/executor/results/path-proof.ts'

const MODICUM_HAPPY_PATH_GAS = 1_160_000
const EXTRA_CREATORS = 20

export async function run (): Promise<void> {
  const chain = await startDevChain({ accounts: ROLES.length + 1 + EXTRA_CREATORS })
  try {
    const wallets = chain.accounts.slice(1).map(k => new Wallet(k))
    const deployment = await deployContracts({
      rpcUrl: chain.rpcUrl,
      deployerKey: chain.accounts[0] as string,
      withdrawDelaySeconds: 3600,
      fund: wallets.map(w => ({ address: w.address, amount: TOKENS }))
    })
    const connect = async (w: Wallet): Promise<SettlementClient> => await SettlementClient.open({
      rpcUrl: chain.rpcUrl, privateKey: w.privateKey, settlementAddress: deployment.settlement, chainId: chain.chainId
    })
    const roleClients = await Promise.all(ROLES.map(async (_r, i) => await connect(wallets[i] as Wallet)))
    const clients = Object.fromEntries(ROLES.map((r, i) => [r, roleClients[i]])) as Fixture['clients']
    const f: Fixture = {
      chain,
      deployment,
      clients,
      wallets: Object.fromEntries(ROLES.map(r => [r, clients[r].wallet])) as Fixture['wallets'],
      stop: async () => {}
    }
    const figure = (metric: string, value: bigint | number, extra: Record<string, unknown> = {}): void => {
      report({ bench: 'gas', metric, value: Number(value), unit: 'gas', ...extra })
    }

    // deposits and withdrawals
    const firstDeposit = await f.clients.jobCreator.deposit(TOKENS / 2n)
    figure('gas_deposit', firstDeposit.gasUsed, { note: 'first deposit of an account, approval not counted' })
    await f.clients.resourceProvider.deposit(TOKENS / 2n)
    const request = await f.clients.outsider.deposit(1000n).then(async () => await f.clients.outsider.requestWithdrawal(400n))
    figure('gas_withdrawal_request', request.gasUsed)
    await passDeadline(f, ((await f.clients.outsider.withdrawalOf())?.unlockAt ?? 0) * 1000)
    figure('gas_withdrawal', (await f.clients.outsider.withdraw()).gasUsed)

    // the single-deal path of every outcome
    for (const outcome of DEAL_OUTCOMES) {
      const signed = await sign(f, await makeDeal(f))
      const before = await f.clients.outsider.provider.getBlockNumber()
      const receipt = await reachOutcome(f, signed, outcome)
      let path = 0n
      for (let b = before + 1; b <= receipt.blockNumber; b++) {
        const block = await f.clients.outsider.provider.getBlock(b, true)
        for (const tx of block?.prefetchedTransactions ?? []) {
          if (tx.to?.toLowerCase() !== deployment.settlement.toLowerCase()) continue
          path += (await f.clients.outsider.provider.getTransactionReceipt(tx.hash))?.gasUsed ?? 0n
        }
      }
      figure(`gas_${outcome}`, receipt.gasUsed, { path_total: Number(path) })
    }
    {
      const signed = await sign(f, await makeDeal(f))
      figure('gas_commit_results', (await commit(f, signed)).gasUsed)
      figure('gas_challenge', (await challenge(f, signed)).gasUsed)
      figure('gas_register_mediator', (await f.clients.mediator.registerMediator(50n)).gasUsed)
      // the mediated path, challenge to settlement: the challenge locks the deal's funds, the judge
      // drawn from the deal's three mediators takes the case, and its verdict settles the deal
      const panel = ['mediator', 'otherMediator', 'outsider'] as const
      const mediated = await sign(f, await makeDeal(f, { mediators: panel.map(m => f.wallets[m].address) }))
      await commit(f, mediated)
      const challenged = await challenge(f, mediated)
      const judge = await f.clients.outsider.judgeOf(mediated)
      const drawn = panel.find(m => f.wallets[m].address === judge) ?? 'mediator'
      const steps = [challenged, await f.clients[drawn].takeCase(mediated)]
      const verdict = { ...common(f, drawn), dealId: f.clients.jobCreator.dealId(mediated.deal), resultsCid: CID, mediatorCid: OTHER_CID, providerAtFault: true }
      steps.push(await f.clients[drawn].settleVerdict(mediated, verdict, await signAs(f, drawn, 'MediationVerdict', verdict)))
      figure('gas_take_case', steps[1]!.gasUsed, { note: 'the judge drawn from three mediators' })
      figure('gas_mediation_one_verdict', steps.reduce((sum, r) => sum + r.gasUsed, 0n), {
        note: 'challenge + takeCase + settleVerdict (MediationRejected), three mediators; the results commitment before it not counted'
      })
      // a quorum of 2 of 3: two mediators take the case and give verdicts that agree; the second settles
      const quorum = await sign(f, await makeDeal(f, { mediators: panel.map(m => f.wallets[m].address), quorum: 2, mediatorFee: '100', paymentCollateral: '1300' }))
      await commit(f, quorum)
      const voting = [await challenge(f, quorum)]
      for (const m of ['mediator', 'otherMediator'] as const) {
        voting.push(await f.clients[m].takeCase(quorum))
        const vote = { ...common(f, m), dealId: f.clients.jobCreator.dealId(quorum.deal), resultsCid: CID, mediatorCid: OTHER_CID, providerAtFault: true }
        voting.push(await f.clients[m].settleVerdict(quorum, vote, await signAs(f, m, 'MediationVerdict', vote)))
      }
      figure('gas_mediation_quorum_2_of_3', voting.reduce((sum, r) => sum + r.gasUsed, 0n), {
        note: 'challenge + 2 x (takeCase + settleVerdict), the second verdict settling (MediationRejected); the results commitment before it not counted'
      })
      const locked = await sign(f, await makeDeal(f))
      figure('gas_lock_deal', (await f.clients.jobCreator.lockDeal(locked)).gasUsed)
      // what a claim refused on chain still costs its sender: a TimeoutJudge claim of a deal settled first
      const settled = await sign(f, await makeDeal(f))
      await reachOutcome(f, settled, 'Accepted')
      figure('gas_refused_claim', await refusedClaimGas(f, deployment.settlement, settled, wallets.at(-1) as Wallet), { note: 'claimTimeoutJudge of a settled deal, reverted' })
    }

    await onchainJobFigures(f, figure)

    // happy-path batches: one creator, then many
    const accepted = async (creator: Wallet): Promise<AcceptedDeal> => {
      const deal = await makeDeal(f, { jobCreator: creator.address })
      const signed = await signDeal(f.clients.jobCreator.domain, deal, creator, f.wallets.resourceProvider)
      const { acceptance } = await acceptanceFor(f, deal)
      const a = { ...acceptance, author: creator.address }
      return { signed, acceptance: a, acceptanceSignature: await signMessage(creator, f.clients.jobCreator.domain, 'ResultsAccepted', a) }
    }
    for (const n of [1, 10, 100]) {
      const items = await Promise.all(Array.from({ length: n }, async () => await accepted(f.wallets.jobCreator)))
      const receipt = await f.clients.resourceProvider.settleBatch(items)
      const perJob = Number(receipt.gasUsed) / n
      figure(`gas_per_job_batch_${n}`, Math.round(perJob), {
        ...(n === 100 ? { goal: '<=60000' } : {}),
        baseline: MODICUM_HAPPY_PATH_GAS,
        ratio: Number((perJob / MODICUM_HAPPY_PATH_GAS).toFixed(4))
      })
    }
    const creators = wallets.slice(ROLES.length, ROLES.length + EXTRA_CREATORS)
    await Promise.all(creators.map(async c => { const cl = await connect(c); await cl.deposit(TOKENS / 2n); await cl.close() }))
    const items = await Promise.all(Array.from({ length: 100 }, async (_x, i) => await accepted(creators[i % creators.length] as Wallet)))
    const receipt = await f.clients.resourceProvider.settleBatch(items)
    figure('gas_per_job_batch_100_20_creators', Math.round(Number(receipt.gasUsed) / 100), {
      baseline: MODICUM_HAPPY_PATH_GAS,
      ratio: Number((Number(receipt.gasUsed) / 100 / MODICUM_HAPPY_PATH_GAS).toFixed(4))
    })
    for (const c of Object.values(clients)) await c.close()
  } finally {
    await chain.stop()
  }
}

/**
 * The gas a reverted claimTimeoutJudge burns: sent with a gas limit of its own, so that no estimate
 * refuses it first, from an account no client sends for yet (a settled deal is refused to anyone).
 */
async function refusedClaimGas (f: Fixture, settlement: string, signed: SignedDeal, sender: Wallet): Promise<bigint> {
  const client = f.clients.outsider
  const contract = new Contract(settlement, combinedInterface(await loadArtifacts()), sender.connect(client.provider))
  const tx = await contract.getFunction('claimTimeoutJudge').send(signed, { gasLimit: 1_000_000 }) as { hash: string }
  for (;;) {
    const receipt = await client.provider.getTransactionReceipt(tx.hash)
    if (receipt !== null) {
      if (receipt.status !== 0) throw new Error('the claim of a settled deal was not refused')
      return receipt.gasUsed
    }
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/**
 * A contract asks for a job (its first request, then another) and a relayer, the fixture's job
 * creator, delivers the results of the deal it settled for it. The relayer puts the provider's
 * results on chain before the deal settles, so that the settlement holds their CID: that commitment
 * is reported beside the delivery, and so is the other way, the provider's signed results brought
 * with the delivery of a deal accepted with no results on chain.
 */
async function onchainJobFigures (f: Fixture, figure: (metric: string, value: bigint | number, extra?: Record<string, unknown>) => void): Promise<void> {
  const jobs = await OnchainJobsClient.deploy(f.clients.outsider)
  const relayer = await OnchainJobsClient.attach(f.clients.jobCreator, jobs.address)
  const cowsay = await ExampleCowsayClient.deploy(jobs)
  await cowsay.fund(100_000n)
  const deadline = (await chainTime(jobs.provider)) * 1000 + 24 * 3600_000
  const ask = { ...COWSAY, message: 'moo', payment: 5000n, relayerFee: 100n, deadline, claimWindow: 60_000 }
  const first = await cowsay.ask(ask)
  const asked = await cowsay.ask(ask)
  figure('gas_onchain_job_request', asked.gasUsed, { first_request: Number(first.gasUsed), note: 'ExampleCowsayClient.ask (building the inputs, approving and paying included), a client\'s second request; first_request: its first' })
  const offer = offerFor(f, asked.requestId, 'moo')
  const jobOfferId = await relayer.jobs.getFunction('jobOfferId').staticCall(offer) as string
  const signed = await sign(f, await makeDeal(f, { jobOfferId }))
  const { results, signature } = await resultsFor(f, signed.deal, CID)
  const committed = await f.clients.jobCreator.commitResults(signed, results, signature)
  await reachOutcome(f, signed, 'Accepted')
  // the example asks for the cow: the first 512 bytes of stdout, proven from the results' CID
  const folder = await resultsFolder()
  const stdout = { path: 'stdout', blocks: await pathProof(folder.blockstore, folder.cid, 'stdout') }
  const delivered = await relayer.deliver(asked.requestId, signed, offer, CID, stdout)
  const readOutput = await relayer.jobs.getFunction('readOutput').estimateGas(CID, stdout.path, stdout.blocks, 512)
  // the other way: the deal accepted with no results on chain, delivered with the provider's signed results
  const bare = await cowsay.ask(ask)
  const bareOffer = offerFor(f, bare.requestId, 'moo')
  const bareDeal = await sign(f, await makeDeal(f, { jobOfferId: await relayer.jobs.getFunction('jobOfferId').staticCall(bareOffer) as string }))
  await reachOutcome(f, bareDeal, 'Accepted')
  const bareResults = await resultsFor(f, bareDeal.deal, CID)
  const withResults = await relayer.deliverWithResults(bare.requestId, bareDeal, bareOffer, { message: bareResults.results, signature: bareResults.signature }, stdout)
  if (!delivered.callbackOk || !withResults.callbackOk) throw new Error('the example client\'s callback failed')
  figure('gas_onchain_job_delivery', delivered.gasUsed, {
    relayer_commit: Number(committed.gasUsed),
    with_provider_results: Number(withResults.gasUsed),
    output_bytes: delivered.output.length,
    read_output: Number(readOutput) - 21_000,
    note: 'deliver of an Accepted deal with its stdout proven (2 blocks), the example client\'s callback storing the CID and the cow; relayer_commit: the commitResults the relayer sends before the deal settles; with_provider_results: deliverWithResults of a deal accepted with no results on chain; read_output: proving the cow alone (readOutput, less the 21,000 of a transaction)'
  })
}
