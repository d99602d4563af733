import { headDigest, headSigner, type SignedHead } from '../../protocols/messages/log-head.ts'

/** Signs 32-byte digests with the node's secp256k1 key (its Ethereum account). */
export interface LogSigner {
  readonly address: string
  signDigest (digest: string): string
}

/** A checkpoint is the log's head under the node's signature, written into the log itself. */
export type CheckpointData = SignedHead

export const checkpointDigest = headDigest

export function signCheckpoint (signer: LogSigner, seq: number, hash: string): CheckpointData {
  return { seq, hash, signer: signer.address, signature: signer.signDigest(checkpointDigest(seq, hash)) }
}

/** The log's newest record under the signer's signature: the head a node sends with its messages. */
export function signedHead (signer: LogSigner, log: { head: () => { seq: number, hash: string } }): CheckpointData {
  const { seq, hash } = log.head()
  return signCheckpoint(signer, seq, hash)
}

/** Returns the address that signed the checkpoint, or undefined when the signature is malformed. */
export const checkpointSigner = (data: CheckpointData): string | undefined => headSigner(data)
