/**
 * The results folder whose CID the settlement fixture's deals carry (fixture.ts's CID): a run of
 * `cowsay moo`, built into a blockstore here so that tests can prove its files to a contract.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryBlockstore } from 'blockstore-core/memory'
import type { CID } from 'multiformats/cid'
import { cidOfPath } from '../../../src/executor/results/cid.ts'

export const COW = ' _____\n< moo >\n -----\n        \\   ^__^\n         \\  (oo)\\_______\n            (__)\\       )\\/\\\n                ||----w |\n                ||     ||\n'

export interface ResultsFolder {
  cid: CID
  blockstore: MemoryBlockstore
}

/** A results folder (stdout, stderr, exitCode, outputs/) with this stdout, added as the node adds one. */
export async function resultsFolder (stdout: string | Uint8Array = COW): Promise<ResultsFolder> {
  const dir = await mkdtemp(join(tmpdir(), 'lilypad-results-'))
  try {
    await writeFile(join(dir, 'stdout'), stdout)
    await writeFile(join(dir, 'stderr'), '')
    await writeFile(join(dir, 'exitCode'), '0')
    await mkdir(join(dir, 'outputs'))
    const blockstore = new MemoryBlockstore()
    return { cid: await cidOfPath(dir, { blockstore }), blockstore }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
