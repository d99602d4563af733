/** Test parties, offers and signed messages for one deal, built the way real nodes build them. */
import { start as startMachine, step as stepMachine } from '../../../src/state-machines/step.ts'
import { Wallet } from 'ethers'
import { lilypadDomain } from '../../../src/protocols/messages/eip712-types.ts'
import type { Envelope } from '../../../src/protocols/messages/envelope.ts'
import type { Deal, JobOffer, MatchProposal, ResourceOffer } from '../../../src/protocols/messages/schemas.ts'
import { messageId, signMessage } from '../../../src/protocols/messages/signing.ts'
import type { DomainJson } from '../../../src/state-machines/common.ts'
import type { InputEvent } from '../../../src/state-machines/contract.ts'

const key = (n: number): string => '0x' + n.toString(16).padStart(64, '0')

export const parties = {
  jobCreator: new Wallet(key(0xa11ce)),
  resourceProvider: new Wallet(key(0xb0b)),
  solver: new Wallet(key(0x5017e4)),
  mediator: new Wallet(key(0x3ed1a7)),
  otherMediator: new Wallet(key(0x3ed1a8)),
  stranger: new Wallet(key(0xbad))
}

export const domainJson: DomainJson = { chainId: '31337', verifyingContract: '0x' + '5e'.repeat(20) }
export const domain = lilypadDomain(31337n, domainJson.verifyingContract)

export const T0 = 1_800_000_000_000
export const SPEC_HASH = '0x' + '12'.repeat(32)

export function jobOffer (overrides: Partial<JobOffer> = {}): JobOffer {
  return {
    author: parties.jobCreator.address,
    nonce: '1',
    expiry: T0 + 60_000,
    moduleRepo: 'github.com/Lilypad-Tech/lilypad-module-cowsay',
    moduleCommit: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2',
    modulePath: 'lilypad_module.json.tmpl',
    specHash: SPEC_HASH,
    inputs: '{"Message":"moo"}',
    image: '',
    inputsCid: '',
    urlPins: '',
    cpu: 1000,
    gpu: 0,
    gpuVramMb: 0,
    ramMb: 512,
    diskMb: 1024,
    maxPrice: '1000',
    maxSolverFee: '10',
    paymentCollateral: '2000',
    timeoutCollateral: '300',
    trustedMediators: [parties.mediator.address, parties.otherMediator.address],
    quorum: 1,
    trustedSolvers: [parties.solver.address],
    matchDeadline: T0 + 60_000,
    agreeWithin: 10_000,
    submitWithin: 60_000,
    judgeWithin: 30_000,
    mediateWithin: 60_000,
    ...overrides
  }
}

export function resourceOffer (overrides: Partial<ResourceOffer> = {}): ResourceOffer {
  return {
    author: parties.resourceProvider.address,
    nonce: '1',
    expiry: T0 + 120_000,
    slot: 0,
    cpu: 4000,
    gpu: 0,
    gpuVramMb: 0,
    ramMb: 8192,
    diskMb: 65536,
    maxSubmitWithin: 3600_000,
    modules: [],
    price: '800',
    resultsCollateral: '1500',
    timeoutCollateral: '400',
    trustedMediators: [parties.mediator.address],
    trustedSolvers: [parties.solver.address],
    multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
    ...overrides
  }
}

export const sign = <T extends Parameters<typeof signMessage>[2]>(wallet: Wallet, type: T, message: Parameters<typeof signMessage<T>>[3], existing?: string[]): Envelope<T> =>
  signMessage(wallet, domain, type, message, existing)

export const idOf = <T extends Parameters<typeof messageId>[1]>(type: T, message: Parameters<typeof messageId<T>>[2]): string => messageId(domain, type, message)

export function proposal (job: JobOffer, offer: ResourceOffer, overrides: Partial<MatchProposal> = {}): MatchProposal {
  return {
    author: parties.solver.address,
    nonce: '7',
    expiry: T0 + 10_000,
    jobOfferId: idOf('JobOffer', job),
    resourceOfferId: idOf('ResourceOffer', offer),
    jobCreator: job.author,
    resourceProvider: offer.author,
    price: offer.price,
    solverFee: '5',
    mediatorFee: '50',
    mediators: [parties.mediator.address],
    ...overrides
  }
}

/** Everything one deal needs, signed. */
export function scenario (options: { job?: Partial<JobOffer>, offer?: Partial<ResourceOffer>, proposal?: Partial<MatchProposal> } = {}) {
  const job = jobOffer(options.job)
  const offer = resourceOffer(options.offer)
  const prop = proposal(job, offer, options.proposal)
  const jobEnv = sign(parties.jobCreator, 'JobOffer', job)
  const offerEnv = sign(parties.resourceProvider, 'ResourceOffer', offer)
  const propEnv = sign(parties.solver, 'MatchProposal', prop)
  const agreeDeadline = prop.expiry
  const submitDeadline = agreeDeadline + job.submitWithin
  const judgeDeadline = submitDeadline + job.judgeWithin
  const deal: Deal = {
    jobCreator: job.author,
    resourceProvider: offer.author,
    solver: prop.author,
    nonce: prop.nonce,
    expiry: agreeDeadline,
    jobOfferId: idOf('JobOffer', job),
    resourceOfferId: idOf('ResourceOffer', offer),
    matchProposalId: idOf('MatchProposal', prop),
    specHash: job.specHash,
    mediators: prop.mediators,
    quorum: job.quorum,
    price: prop.price,
    solverFee: prop.solverFee,
    mediatorFee: prop.mediatorFee,
    paymentCollateral: job.paymentCollateral,
    jobCreatorTimeoutCollateral: job.timeoutCollateral,
    resultsCollateral: offer.resultsCollateral,
    timeoutCollateral: offer.timeoutCollateral,
    agreeDeadline,
    submitDeadline,
    judgeDeadline,
    mediateDeadline: judgeDeadline + job.mediateWithin
  }
  const dealId = idOf('Deal', deal)
  const halfSigned = sign(parties.jobCreator, 'Deal', deal)
  const dealEnv = sign(parties.resourceProvider, 'Deal', deal, halfSigned.signatures)
  const cid = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'
  const otherCid = 'QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn'
  const common = (author: Wallet, nonce = '9') => ({ author: author.address, nonce, expiry: deal.mediateDeadline })
  const results = sign(parties.resourceProvider, 'ResultsSubmitted', { ...common(parties.resourceProvider), dealId, resultsCid: cid, exitCode: 0, cpuMs: 120, durationMs: 300 })
  const accepted = sign(parties.jobCreator, 'ResultsAccepted', { ...common(parties.jobCreator), dealId, resultsCid: cid })
  const challenged = sign(parties.jobCreator, 'ResultsChallenged', { ...common(parties.jobCreator), dealId, resultsCid: cid })
  const verdict = (providerAtFault: boolean, by: Wallet = parties.mediator) => sign(by, 'MediationVerdict', {
    ...common(by), dealId, resultsCid: cid, mediatorCid: providerAtFault ? otherCid : cid, providerAtFault
  })
  return { job, offer, prop, jobEnv, offerEnv, propEnv, deal, dealId, halfSigned, dealEnv, results, accepted, challenged, verdict, cid, otherCid }
}

export type Scenario = ReturnType<typeof scenario>

export const received = (envelope: Envelope, at: number, attachments?: Envelope[]): InputEvent =>
  ({ type: 'message.received', at, envelope: envelope as never, ...(attachments ? { attachments: attachments as never } : {}) })

export const timer = (name: string, at: number): InputEvent => ({ type: 'timer.fired', timer: name, at })

/** Feeds events one by one; fails the test if any is rejected. */
export function drive<M extends Parameters<typeof import('../../../src/state-machines/step.ts').step>[0]> (
  machine: M, input: unknown, events: InputEvent[]
) {
  let r = startMachine(machine, input)
  const outputs = [...r.outputs]
  for (const e of events) {
    r = stepMachine(machine, r.snapshot, e)
    const rejected = r.outputs.filter(o => o.type === 'input.rejected')
    if (rejected.length > 0) throw new Error(`rejected ${e.type}: ${JSON.stringify(rejected)}`)
    outputs.push(...r.outputs)
  }
  return { snapshot: r.snapshot, outputs, last: r.outputs }
}
