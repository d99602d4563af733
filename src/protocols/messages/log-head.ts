/**
 * A node's log head under its signature: the sequence number and hash of the newest record of its
 * event log, signed with the node's key. The log signs its own checkpoints so; a node also sends its
 * head with every direct message, and the receiver logs it, so that each counterparty holds proof of
 * how long the node's log was and what it held, which a log cut short or rewritten cannot meet.
 */
import { getAddress, keccak256, toUtf8Bytes } from 'ethers'
import { recoverSigner } from './recover-signer.ts'

export interface SignedHead {
  /** the record whose hash is signed */
  seq: number
  hash: string
  signer: string
  signature: string
  [key: string]: string | number
}

export function headDigest (seq: number, hash: string): string {
  return keccak256(toUtf8Bytes(`lilypad.log.checkpoint:${seq}:${hash}`))
}

/**
 * The address (checksummed) that signed the head, or undefined when its signature is malformed.
 * Every direct message carries a head: recovered by libsecp256k1 (recover-signer.ts), not ethers'
 * curve code, which made it a node's costliest check (about 1.5 ms a message).
 */
export function headSigner (head: Pick<SignedHead, 'seq' | 'hash' | 'signature'>): string | undefined {
  try {
    return getAddress(recoverSigner(headDigest(head.seq, head.hash), head.signature))
  } catch {
    return undefined
  }
}

/** Whether a value has the shape of a signed head (not whether its signature holds). */
export function isSignedHead (v: unknown): v is SignedHead {
  const h = v as Partial<SignedHead> | null
  return typeof h === 'object' && h !== null && Number.isSafeInteger(h.seq) && (h.seq as number) > 0 &&
    typeof h.hash === 'string' && /^[0-9a-f]{64}$/.test(h.hash) &&
    typeof h.signer === 'string' && /^0x[0-9a-fA-F]{40}$/.test(h.signer) &&
    typeof h.signature === 'string' && /^0x[0-9a-fA-F]{130}$/.test(h.signature) && Object.keys(h).length === 4
}
