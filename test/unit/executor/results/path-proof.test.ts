import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { MemoryBlockstore } from 'blockstore-core'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { cidOfPath } from '../../../../src/executor/results/cid.ts'
import { pathProof } from '../../../../src/executor/results/path-proof.ts'
import { useTempDirs } from '../../../support/temp-dir.ts'

const tempDir = useTempDirs()

/** A results folder with these files, added to a blockstore as the node adds one. */
async function folder (files: Record<string, string | Uint8Array>): Promise<{ root: CID, blockstore: MemoryBlockstore }> {
  const dir = join(await tempDir(), 'results')
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true })
    await writeFile(join(dir, path), content)
  }
  const blockstore = new MemoryBlockstore()
  return { root: await cidOfPath(dir, { blockstore }), blockstore }
}

/** Each block's sha256 is what its parent links to: by name along the path, then by first link. */
async function expectChained (root: CID, path: string, blocks: Uint8Array[]): Promise<void> {
  const names = path.split('/')
  let expected = root
  for (const [i, block] of blocks.entries()) {
    expect(CID.createV0(await sha256.digest(block)).equals(expected), `block ${i}`).toBe(true)
    const links = dagPb.decode(block).Links
    if (links.length > 0) expected = (i < names.length ? links.find(l => l.Name === names[i]) : links[0])!.Hash
  }
}

describe('the blocks that prove a results file to a contract', () => {
  it('a small file: the folder\'s block, then the file\'s, which holds its bytes', async () => {
    const { root, blockstore } = await folder({ stdout: 'moo\n', stderr: '', exitCode: '0' })
    const blocks = await pathProof(blockstore, root, 'stdout')
    expect(blocks).toHaveLength(2)
    const [dir, file] = blocks.map(b => dagPb.decode(b))
    expect(dir!.Links.map(l => l.Name)).toEqual(['exitCode', 'stderr', 'stdout'])
    expect(CID.createV0(await sha256.digest(blocks[1]!)).equals(dir!.Links[2]!.Hash)).toBe(true)
    expect(new TextDecoder().decode(UnixFS.unmarshal(file!.Data!).data)).toBe('moo\n')
    // an empty file proves the empty output
    const empty = await pathProof(blockstore, root, 'stderr')
    expect(UnixFS.unmarshal(dagPb.decode(empty[1]!).Data!).data ?? new Uint8Array()).toHaveLength(0)
  })

  it('a file in a folder, and a file of many chunks down to its first chunk', async () => {
    const long = new Uint8Array(600_000).fill(7)
    const { root, blockstore } = await folder({ stdout: 'x', 'outputs/answer.bin': long })
    const blocks = await pathProof(blockstore, root, 'outputs/answer.bin')
    // the results folder, outputs/, the file's root (links only), its first chunk
    expect(blocks).toHaveLength(4)
    expect(dagPb.decode(blocks[2]!).Links).toHaveLength(3)
    expect(UnixFS.unmarshal(dagPb.decode(blocks[3]!).Data!).data).toHaveLength(262_144)
    await expectChained(root, 'outputs/answer.bin', blocks)
  })

  it('says which path the results do not hold, or which is not a path', async () => {
    const { root, blockstore } = await folder({ stdout: 'x' })
    await expect(pathProof(blockstore, root, 'stdin')).rejects.toMatchObject({ code: 'RESULTS_NOT_FOUND', message: expect.stringContaining('hold no stdin') })
    await expect(pathProof(blockstore, root, 'stdout/deeper')).rejects.toMatchObject({ code: 'RESULTS_NOT_FOUND', message: expect.stringContaining('not a plain folder') })
    for (const bad of ['', '/stdout', 'outputs//a', 'stdout/']) {
      await expect(pathProof(blockstore, root, bad)).rejects.toMatchObject({ code: 'RESULTS_BAD_PATH' })
    }
  })
})
