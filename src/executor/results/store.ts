import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import type { CID } from 'multiformats/cid'
import { cidOfPath } from './cid.ts'
import type { Resource } from '../../support/lifecycle.ts'

/**
 * The node's persistent blockstore for results, under `<DATA_DIR>/blocks`: adding a results folder
 * stores its blocks and returns the same CID `ipfs add -r` prints. The results exchange serves these
 * blocks to other nodes (ResultsExchange).
 */
export class ResultsStore implements Resource {
  private constructor (readonly blockstore: FsBlockstore, readonly dataDir: string) {}

  static async open (dataDir: string): Promise<ResultsStore> {
    const blockstore = new FsBlockstore(join(dataDir, 'blocks'))
    await blockstore.open()
    return new ResultsStore(blockstore, dataDir)
  }

  /** Stores a results folder's blocks and returns its CID. */
  async add (dir: string): Promise<CID> {
    // Identical chunks (runs of zeros, repeated output) give the same block more than once;
    // blockstore-fs is slow to overwrite a block, so each block is written once.
    const pending = new Map<string, Promise<CID>>()
    const put = async (cid: CID, bytes: Uint8Array): Promise<CID> => {
      const key = cid.toString()
      let p = pending.get(key)
      if (p === undefined) {
        p = this.blockstore.has(cid).then(has => has ? cid : this.blockstore.put(cid, bytes))
        pending.set(key, p)
      }
      return p
    }
    return cidOfPath(dir, { blockstore: { put } })
  }

  async has (cid: CID): Promise<boolean> {
    return this.blockstore.has(cid)
  }

  async close (): Promise<void> {
    await this.blockstore.close()
  }
}
