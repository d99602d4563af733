/** Signed messages for mesh tests and the gossip bench: real keys, real EIP-712 signatures. */
import { Wallet } from 'ethers'
import {
  lilypadDomain, signMessage, type Deal, type Envelope, type JobOffer, type MediationVerdict,
  type MediatorAnnouncement, type ResourceOffer
} from '../../../../src/protocols/messages/index.ts'

export const domain = lilypadDomain(31337n, '0x5FbDB2315678afecb367f032d93F642f64180aa3')
export const NETWORK = 'testnet'

/** Deterministic wallets, so failures reproduce. */
export function wallet (n: number): Wallet {
  return new Wallet('0x' + (n + 1).toString(16).padStart(64, '0'))
}

export const mediator = wallet(900)
export const solver = wallet(901)

export function resourceOffer (author: Wallet, now: number, overrides: Partial<ResourceOffer> = {}): Envelope<'ResourceOffer'> {
  return signMessage(author, domain, 'ResourceOffer', {
    author: author.address,
    nonce: String(now),
    expiry: now + 60_000,
    slot: 0,
    cpu: 2000,
    gpu: 0,
    gpuVramMb: 0,
    ramMb: 4096,
    diskMb: 10_000,
    maxSubmitWithin: 3600_000,
    modules: [],
    price: '1000',
    resultsCollateral: '2000',
    timeoutCollateral: '500',
    trustedMediators: [mediator.address],
    trustedSolvers: [solver.address],
    multiaddrs: [],
    ...overrides
  })
}

export function jobOffer (author: Wallet, now: number, overrides: Partial<JobOffer> = {}): Envelope<'JobOffer'> {
  return signMessage(author, domain, 'JobOffer', {
    author: author.address,
    nonce: String(now),
    expiry: now + 60_000,
    moduleRepo: 'github.com/Lilypad-Tech/lilypad-module-cowsay',
    moduleCommit: 'abcdef0123456789',
    modulePath: 'lilypad_module.json.tmpl',
    specHash: '0x' + '11'.repeat(32),
    inputs: '{"Message":"moo"}',
    image: '',
    inputsCid: '',
    urlPins: '',
    cpu: 1000,
    gpu: 0,
    gpuVramMb: 0,
    ramMb: 1024,
    diskMb: 1000,
    maxPrice: '1000',
    maxSolverFee: '10',
    paymentCollateral: '2000',
    timeoutCollateral: '100',
    trustedMediators: [mediator.address],
    quorum: 1,
    trustedSolvers: [solver.address],
    matchDeadline: now + 30_000,
    agreeWithin: 10_000,
    submitWithin: 60_000,
    judgeWithin: 60_000,
    mediateWithin: 60_000,
    ...overrides
  })
}

export function mediatorAnnouncement (author: Wallet, now: number, overrides: Partial<MediatorAnnouncement> = {}): Envelope<'MediatorAnnouncement'> {
  return signMessage(author, domain, 'MediatorAnnouncement', {
    author: author.address, nonce: String(now), expiry: now + 60_000, fee: '10', capacity: 4, multiaddrs: [], ...overrides
  })
}

export function dealTerms (jobCreator: Wallet, provider: Wallet, now: number, overrides: Partial<Deal> = {}): Deal {
  return {
    jobCreator: jobCreator.address,
    resourceProvider: provider.address,
    solver: solver.address,
    nonce: String(now),
    expiry: now + 10_000,
    jobOfferId: '0x' + '22'.repeat(32),
    resourceOfferId: '0x' + '33'.repeat(32),
    matchProposalId: '0x' + '44'.repeat(32),
    specHash: '0x' + '11'.repeat(32),
    mediators: [mediator.address],
    quorum: 1,
    price: '1000',
    solverFee: '10',
    mediatorFee: '10',
    paymentCollateral: '2000',
    jobCreatorTimeoutCollateral: '100',
    resultsCollateral: '2000',
    timeoutCollateral: '500',
    agreeDeadline: now + 10_000,
    submitDeadline: now + 70_000,
    judgeDeadline: now + 130_000,
    mediateDeadline: now + 190_000,
    ...overrides
  }
}

/** A Deal signed by both parties. */
export function agreedDeal (jobCreator: Wallet, provider: Wallet, now: number, overrides: Partial<Deal> = {}): Envelope<'Deal'> {
  const terms = dealTerms(jobCreator, provider, now, overrides)
  const first = signMessage(jobCreator, domain, 'Deal', terms)
  return signMessage(provider, domain, 'Deal', terms, first.signatures)
}

export function verdict (author: Wallet, dealId: string, now: number, overrides: Partial<MediationVerdict> = {}): Envelope<'MediationVerdict'> {
  return signMessage(author, domain, 'MediationVerdict', {
    author: author.address, nonce: String(now), expiry: now + 60_000, dealId,
    resultsCid: 'bafyresults', mediatorCid: 'bafyresults', providerAtFault: false, ...overrides
  })
}
