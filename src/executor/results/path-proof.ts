import { decode, type PBNode } from '@ipld/dag-pb'
import type { Blockstore } from 'interface-blockstore'
import { UnixFS } from 'ipfs-unixfs'
import type { CID } from 'multiformats/cid'
import { readBlock } from './block-transfer.ts'
import { ResultsError } from './errors.ts'

/**
 * The blocks that prove the first bytes of the file at `path` (segments split by "/") under the
 * results folder `root`, as a contract reads them (contracts/src/UnixfsPath.sol): the folder's block,
 * each folder's on the path, then the file's and its first children's down to the first one that
 * holds data. Every block must be in `blockstore`.
 */
export async function pathProof (blockstore: Pick<Blockstore, 'get'>, root: CID, path: string): Promise<Uint8Array[]> {
  const segments = path.split('/')
  if (segments.some(s => s === '')) throw new ResultsError('RESULTS_BAD_PATH', `not a path inside a results folder: ${JSON.stringify(path)}`)
  const blocks: Uint8Array[] = []
  let cid = root
  for (const segment of segments) {
    const node = await read(blockstore, cid, blocks)
    if (unixfsOf(node, cid).type !== 'directory') throw new ResultsError('RESULTS_NOT_FOUND', `${cid} on the way to ${path} is not a plain folder`)
    const link = node.Links.find(l => l.Name === segment)
    if (link === undefined) throw new ResultsError('RESULTS_NOT_FOUND', `the results ${root} hold no ${path}`)
    cid = link.Hash
  }
  for (;;) {
    const node = await read(blockstore, cid, blocks)
    const data = unixfsOf(node, cid)
    if (data.type !== 'file' && data.type !== 'raw') throw new ResultsError('RESULTS_NOT_FOUND', `${path} in the results ${root} is not a file`)
    const first = node.Links[0]
    if ((data.data?.length ?? 0) > 0 || first === undefined) return blocks
    cid = first.Hash
  }
}

async function read (blockstore: Pick<Blockstore, 'get'>, cid: CID, blocks: Uint8Array[]): Promise<PBNode> {
  const block = await readBlock(blockstore, cid)
  blocks.push(block)
  return decode(block)
}

function unixfsOf (node: PBNode, cid: CID): UnixFS {
  if (node.Data === undefined) throw new ResultsError('RESULTS_NOT_FOUND', `block ${cid} holds no UnixFS data`)
  return UnixFS.unmarshal(node.Data)
}
