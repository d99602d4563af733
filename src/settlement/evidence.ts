/**
 * Signing and packaging of the messages the contract takes as evidence. Messages are the wire's
 * objects (src/protocols/messages/schemas.ts): amounts as decimal strings, times in milliseconds;
 * ethers encodes them into the contract's structs as they are.
 */
import { TypedDataEncoder, type Signer } from 'ethers'
import { lilypadDomain, typesFor, type LilypadDomain, type MessageType } from '../protocols/messages/eip712-types.ts'
import type { Deal, MediationVerdict, MessagePayloads, ResultsAccepted, ResultsChallenged, ResultsSubmitted } from '../protocols/messages/schemas.ts'

export type { Deal, MediationVerdict, ResultsAccepted, ResultsChallenged, ResultsSubmitted }

export interface SignedDeal {
  deal: Deal
  jobCreatorSignature: string
  resourceProviderSignature: string
}

export interface AcceptedDeal {
  signed: SignedDeal
  acceptance: ResultsAccepted
  acceptanceSignature: string
}

export interface Signed<T> {
  message: T
  signature: string
}

export function settlementDomain (chainId: bigint | number, settlementAddress: string): LilypadDomain {
  return lilypadDomain(chainId, settlementAddress)
}

export async function signMessage<T extends MessageType> (
  signer: Signer, domain: LilypadDomain, type: T, message: MessagePayloads[T]
): Promise<string> {
  return await signer.signTypedData(domain, typesFor(type), message as unknown as Record<string, unknown>)
}

/** A message's id: its EIP-712 hash under the domain (a deal's id is what the contract calls dealId). */
export function messageId<T extends MessageType> (domain: LilypadDomain, type: T, message: MessagePayloads[T]): string {
  return TypedDataEncoder.hash(domain, typesFor(type), message as unknown as Record<string, unknown>)
}

export async function signDeal (domain: LilypadDomain, deal: Deal, jobCreator: Signer, resourceProvider: Signer): Promise<SignedDeal> {
  const [jobCreatorSignature, resourceProviderSignature] = await Promise.all([
    signMessage(jobCreator, domain, 'Deal', deal),
    signMessage(resourceProvider, domain, 'Deal', deal)
  ])
  return { deal, jobCreatorSignature, resourceProviderSignature }
}
