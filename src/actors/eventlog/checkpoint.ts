import { keccak256, recoverAddress, toUtf8Bytes } from 'ethers'

/** Signs 32-byte digests with the node's secp256k1 key (its Ethereum account). */
export interface LogSigner {
  readonly address: string
  signDigest (digest: string): string
}

export interface CheckpointData {
  /** the record whose hash is signed */
  seq: number
  hash: string
  signer: string
  signature: string
  [key: string]: string | number
}

export function checkpointDigest (seq: number, hash: string): string {
  return keccak256(toUtf8Bytes(`lilypad.log.checkpoint:${seq}:${hash}`))
}

export function signCheckpoint (signer: LogSigner, seq: number, hash: string): CheckpointData {
  return { seq, hash, signer: signer.address, signature: signer.signDigest(checkpointDigest(seq, hash)) }
}

/** Returns the address that signed the checkpoint, or undefined when the signature is malformed. */
export function checkpointSigner (data: CheckpointData): string | undefined {
  try {
    return recoverAddress(checkpointDigest(data.seq, data.hash), data.signature)
  } catch {
    return undefined
  }
}
