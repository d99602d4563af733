import { mkdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { MemoryBlockstore } from 'blockstore-core'
import { describe, expect, it } from 'vitest'
import { cidOfBytes, cidOfPath, parseCid } from '../../../../src/executor/results/cid.ts'
import { useTempDirs } from '../../../support/temp-dir.ts'

const tempDir = useTempDirs()

/** Deterministic pseudo-random bytes (a 32-bit LCG's high byte). */
function pattern (n: number): Uint8Array {
  const b = new Uint8Array(n)
  let x = 1
  for (let i = 0; i < n; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; b[i] = x >>> 24 }
  return b
}

// Expected values from Debian's ipfs-cid tool (`ipfs_cid <file>`), which implements `ipfs add`'s
// defaults independently of the JavaScript importer.
const VECTORS = [
  { name: 'hello\\n', bytes: new TextEncoder().encode('hello\n'), cid: 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN' },
  { name: 'exactly one 256 KiB chunk', bytes: pattern(262_144), cid: 'QmdK8ZTiWxxiyFpQyiw9zwE51M8kVDsxf37mcz85E5MYGp' },
  { name: '5 chunks (1 MiB + 4321 bytes)', bytes: pattern(1_048_576 + 4_321), cid: 'QmWgQCHXGoRMdYBvViARrMVrnS9VpqZydjVRWcnvmDNVh3' },
  { name: '176 chunks: a balanced tree two levels deep (more than 174 links)', bytes: pattern(175 * 262_144 + 1), cid: 'QmNnbG1BY68VreLjDh4kvFTCQg8zduSfh32L7ue3P2FYoW' }
]

/** A dag-pb directory node built by hand from the UnixFS spec, to check the importer's folders. */
async function handDirectory (links: Array<{ name: string, cid: CID, block: Uint8Array, tsize: number }>): Promise<{ cid: CID, block: Uint8Array, tsize: number }> {
  const sorted = [...links].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
  const block = dagPb.encode({
    Data: new UnixFS({ type: 'directory' }).marshal(),
    Links: sorted.map(l => ({ Name: l.name, Hash: l.cid, Tsize: l.tsize }))
  })
  const cid = CID.createV0(await sha256.digest(block))
  return { cid, block, tsize: block.length + sorted.reduce((sum, l) => sum + l.tsize, 0) }
}

async function handFile (text: string): Promise<{ cid: CID, block: Uint8Array, tsize: number }> {
  const block = dagPb.encode({ Data: new UnixFS({ type: 'file', data: new TextEncoder().encode(text) }).marshal(), Links: [] })
  return { cid: CID.createV0(await sha256.digest(block)), block, tsize: block.length }
}

describe('results CIDs are what `ipfs add -r` prints', () => {
  for (const v of VECTORS) {
    it(`file: ${v.name}`, async () => {
      expect((await cidOfBytes(v.bytes)).toString()).toBe(v.cid)
      const dir = await tempDir()
      await writeFile(join(dir, 'f'), v.bytes)
      expect((await cidOfPath(join(dir, 'f'))).toString()).toBe(v.cid)
    })
  }

  it('the empty directory', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, 'empty'))
    expect((await cidOfPath(join(dir, 'empty'))).toString()).toBe('QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn')
  })

  it('a nested directory, leaving out dot files as `ipfs add` does without --hidden', async () => {
    const root = join(await tempDir(), 'results')
    await mkdir(join(root, 'outputs', 'deep', 'empty'), { recursive: true })
    await writeFile(join(root, 'stdout'), 'hello\n')
    await writeFile(join(root, 'stderr'), '')
    await writeFile(join(root, 'exitCode'), '0')
    await writeFile(join(root, 'outputs', 'deep', 'a.txt'), 'moo\n')
    await writeFile(join(root, 'outputs', '.hidden'), 'not part of the results')

    const hello = await handFile('hello\n')
    expect(hello.cid.toString()).toBe('QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN')
    const empty = await handDirectory([])
    expect(empty.cid.toString()).toBe('QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn')
    const deep = await handDirectory([{ name: 'a.txt', ...await handFile('moo\n') }, { name: 'empty', ...empty }])
    const outputs = await handDirectory([{ name: 'deep', ...deep }])
    const expected = await handDirectory([
      { name: 'stdout', ...hello },
      { name: 'stderr', ...await handFile('') },
      { name: 'exitCode', ...await handFile('0') },
      { name: 'outputs', ...outputs }
    ])
    expect((await cidOfPath(root)).toString()).toBe(expected.cid.toString())
  })

  it('puts every block into the given blockstore', async () => {
    const store = new MemoryBlockstore()
    const cid = await cidOfBytes(pattern(600_000), { blockstore: store })
    expect(await store.has(cid)).toBe(true)
    const root = dagPb.decode(await concat(store.get(cid)))
    expect(root.Links).toHaveLength(3)
    for (const link of root.Links) expect(await store.has(link.Hash)).toBe(true)
  })

  it('refuses symbolic links with a clear error', async () => {
    const root = join(await tempDir(), 'r')
    await mkdir(root)
    await symlink('/etc/passwd', join(root, 'link'))
    await expect(cidOfPath(root)).rejects.toMatchObject({ code: 'RESULTS_UNSUPPORTED_ENTRY', message: expect.stringContaining('link') })
  })

  it('explains a missing path and a malformed CID', async () => {
    await expect(cidOfPath('/nonexistent/results')).rejects.toMatchObject({ code: 'RESULTS_NOT_A_DIRECTORY' })
    expect(() => parseCid('not-a-cid')).toThrow(expect.objectContaining({ code: 'RESULTS_BAD_CID' }))
  })
})

async function concat (chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of chunks) parts.push(c)
  return Buffer.concat(parts)
}
