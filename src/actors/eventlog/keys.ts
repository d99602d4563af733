/**
 * The buckets of the node's LevelDB: one prefix each, never reused.
 * Keys inside a bucket are zero-padded so that lexicographic order is numeric order.
 */
export const Bucket = {
  records: 'r',
  snapshots: 's',
  /** signed messages a node sent or received (role actors) */
  messages: 'm'
} as const

export const SEQ_DIGITS = 16

export function seqKey (seq: number): string {
  return seq.toString().padStart(SEQ_DIGITS, '0')
}
