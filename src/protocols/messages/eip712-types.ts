/**
 * The EIP-712 domain and struct types of every protocol message (DESIGN §5).
 *
 * This file is the single source of truth for the wire and for the settlement contract, which
 * declares the same struct strings. Conventions:
 * - token amounts are `uint256` in wei (decimal strings on the wire, bigint in code);
 * - times are `uint64` milliseconds since the Unix epoch (absolute), durations `uint64` ms;
 * - every message carries `author`, `nonce` and `expiry`, except `Deal`, whose authors are its two
 *   parties (`jobCreator`, `resourceProvider`) and which is valid only with both signatures;
 * - a message id is its EIP-712 hash (`TypedDataEncoder.hash(domain, types, message)`).
 */
import type { TypedDataDomain, TypedDataField } from 'ethers'

export const DOMAIN_NAME = 'Lilypad'
export const DOMAIN_VERSION = '1'

export interface LilypadDomain extends TypedDataDomain {
  name: string
  version: string
  chainId: bigint
  verifyingContract: string
}

/** The one domain: the settlement contract on a chain. */
export function lilypadDomain (chainId: bigint | number, verifyingContract: string): LilypadDomain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId: BigInt(chainId), verifyingContract }
}

const common: TypedDataField[] = [
  { name: 'author', type: 'address' },
  { name: 'nonce', type: 'uint256' },
  { name: 'expiry', type: 'uint64' }
]

export const EIP712_TYPES = {
  ResourceOffer: [
    ...common,
    { name: 'slot', type: 'uint32' },
    { name: 'cpu', type: 'uint32' }, // milli-cores
    { name: 'gpu', type: 'uint32' }, // count
    { name: 'gpuVramMb', type: 'uint32' }, // per GPU
    { name: 'ramMb', type: 'uint32' },
    { name: 'diskMb', type: 'uint32' },
    { name: 'maxSubmitWithin', type: 'uint64' }, // the longest submit window (ms) the slot takes
    { name: 'modules', type: 'string[]' }, // allow-list of module repos; empty = any module
    { name: 'price', type: 'uint256' }, // wei per job
    { name: 'resultsCollateral', type: 'uint256' },
    { name: 'timeoutCollateral', type: 'uint256' },
    { name: 'trustedMediators', type: 'address[]' },
    { name: 'trustedSolvers', type: 'address[]' },
    { name: 'multiaddrs', type: 'string[]' }
  ],
  JobOffer: [
    ...common,
    { name: 'moduleRepo', type: 'string' },
    { name: 'moduleCommit', type: 'string' },
    { name: 'modulePath', type: 'string' },
    { name: 'specHash', type: 'bytes32' }, // hash of the rendered job spec
    { name: 'inputs', type: 'string' }, // canonical JSON of the module inputs
    { name: 'image', type: 'string' }, // the image the spec names by tag, pinned: name@sha256:<digest>; '' if the spec pins it
    { name: 'inputsCid', type: 'string' }, // input data the creator's node serves, mounted read-only at /inputs; '' for none
    { name: 'urlPins', type: 'string' }, // canonical JSON {url: CID} of the spec's URL inputs as the creator downloaded them; '' for none
    { name: 'cpu', type: 'uint32' },
    { name: 'gpu', type: 'uint32' },
    { name: 'gpuVramMb', type: 'uint32' },
    { name: 'ramMb', type: 'uint32' },
    { name: 'diskMb', type: 'uint32' },
    { name: 'maxPrice', type: 'uint256' },
    { name: 'maxSolverFee', type: 'uint256' },
    { name: 'paymentCollateral', type: 'uint256' },
    { name: 'timeoutCollateral', type: 'uint256' },
    { name: 'trustedMediators', type: 'address[]' },
    { name: 'quorum', type: 'uint8' }, // the verdicts a challenge of its deal needs
    { name: 'trustedSolvers', type: 'address[]' },
    { name: 'matchDeadline', type: 'uint64' },
    { name: 'agreeWithin', type: 'uint64' },
    { name: 'submitWithin', type: 'uint64' },
    { name: 'judgeWithin', type: 'uint64' },
    { name: 'mediateWithin', type: 'uint64' }
  ],
  MatchProposal: [
    ...common,
    { name: 'jobOfferId', type: 'bytes32' },
    { name: 'resourceOfferId', type: 'bytes32' },
    { name: 'jobCreator', type: 'address' },
    { name: 'resourceProvider', type: 'address' },
    { name: 'price', type: 'uint256' },
    { name: 'solverFee', type: 'uint256' },
    { name: 'mediatorFee', type: 'uint256' },
    { name: 'mediators', type: 'address[]' }
  ],
  Deal: [
    { name: 'jobCreator', type: 'address' },
    { name: 'resourceProvider', type: 'address' },
    { name: 'solver', type: 'address' },
    { name: 'nonce', type: 'uint256' },
    { name: 'expiry', type: 'uint64' }, // equals agreeDeadline: sign before it or not at all
    { name: 'jobOfferId', type: 'bytes32' },
    { name: 'resourceOfferId', type: 'bytes32' },
    { name: 'matchProposalId', type: 'bytes32' },
    { name: 'specHash', type: 'bytes32' },
    { name: 'mediators', type: 'address[]' },
    { name: 'quorum', type: 'uint8' }, // 1: the one judge the chain draws; k > 1: k matching verdicts of the mediators
    { name: 'price', type: 'uint256' },
    { name: 'solverFee', type: 'uint256' },
    { name: 'mediatorFee', type: 'uint256' },
    { name: 'paymentCollateral', type: 'uint256' }, // job creator: covers price + solverFee + mediatorFee
    { name: 'jobCreatorTimeoutCollateral', type: 'uint256' },
    { name: 'resultsCollateral', type: 'uint256' }, // resource provider
    { name: 'timeoutCollateral', type: 'uint256' }, // resource provider: covers mediatorFee
    { name: 'agreeDeadline', type: 'uint64' },
    { name: 'submitDeadline', type: 'uint64' },
    { name: 'judgeDeadline', type: 'uint64' },
    { name: 'mediateDeadline', type: 'uint64' }
  ],
  ResultsSubmitted: [
    ...common,
    { name: 'dealId', type: 'bytes32' },
    { name: 'resultsCid', type: 'string' },
    { name: 'exitCode', type: 'int32' },
    { name: 'cpuMs', type: 'uint64' },
    { name: 'durationMs', type: 'uint64' }
  ],
  ResultsAccepted: [
    ...common,
    { name: 'dealId', type: 'bytes32' },
    { name: 'resultsCid', type: 'string' }
  ],
  ResultsChallenged: [
    ...common,
    { name: 'dealId', type: 'bytes32' },
    { name: 'resultsCid', type: 'string' }
  ],
  MediationVerdict: [
    ...common,
    { name: 'dealId', type: 'bytes32' },
    { name: 'resultsCid', type: 'string' }, // what the provider submitted
    { name: 'mediatorCid', type: 'string' }, // what the mediator's re-run produced ('' if results were unfetchable)
    { name: 'providerAtFault', type: 'bool' }
  ],
  MediatorAnnouncement: [
    ...common,
    { name: 'fee', type: 'uint256' },
    { name: 'capacity', type: 'uint32' },
    { name: 'multiaddrs', type: 'string[]' }
  ]
} as const satisfies Record<string, readonly TypedDataField[]>

export type MessageType = keyof typeof EIP712_TYPES
export const MESSAGE_TYPES = Object.keys(EIP712_TYPES) as MessageType[]

/** The types object for one primary type, in the shape ethers' signTypedData expects. */
export function typesFor (type: MessageType): Record<string, TypedDataField[]> {
  return { [type]: [...EIP712_TYPES[type]] }
}

/** `Name(type1 name1,...)`: the struct string the Solidity side hashes into its type hash. */
export function encodeTypeString (type: MessageType): string {
  return `${type}(${EIP712_TYPES[type].map(f => `${f.type} ${f.name}`).join(',')})`
}
