import { randomUUID } from 'node:crypto'
import { lstat, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { adoptFilesystem, makeFilesystem, outputsFsDir, releaseMount } from './outputs-fs.ts'

/** The name of an outputs filesystem made ahead of the run that takes it. */
const SPARE_PREFIX = 'spare-'

interface Spare {
  /** the results root, quota and owner it was made for */
  key: string
  mount: string
  /** false when making it failed (the run that wanted it makes its own) */
  made: Promise<boolean>
}

type Owner = { uid: number, gid: number } | undefined

/**
 * One outputs filesystem (outputs-fs.ts) made ahead of the run that needs it. Making one (an ext4
 * image and a loop mount) takes 50-160 ms, on the way from a job's start to its container's; a run
 * takes the spare instead, and the next spare is made once that run has ended, off any job's way.
 * A spare is kept for one results root, quota and owner at a time: the last a run asked for.
 */
export class SpareOutputs {
  private spare: Spare | undefined
  private closed = false

  /**
   * The spare made for this run's results root, quota and owner, now the run's own outputs
   * filesystem (a link at the run's name): the path to bind at `/outputs`; undefined when none is
   * ready or making it failed.
   */
  async take (resultsRoot: string, resultsDir: string, quota: number, owner: Owner): Promise<string | undefined> {
    const spare = this.spare
    if (spare === undefined || spare.key !== keyOf(resultsRoot, quota, owner)) return undefined
    this.spare = undefined
    if (!await spare.made) return undefined
    try {
      await adoptFilesystem(resultsDir, spare.mount)
      return spare.mount
    } catch {
      await releaseMount(spare.mount).catch(() => undefined)
      return undefined
    }
  }

  /** Makes a spare for runs like this one, unless one is ready or being made. */
  replenish (resultsRoot: string, quota: number, owner: Owner): void {
    const key = keyOf(resultsRoot, quota, owner)
    if (this.closed || this.spare?.key === key) return
    const previous = this.spare
    const mount = join(outputsFsDir(resultsRoot), `${SPARE_PREFIX}${randomUUID()}`)
    const made = (previous === undefined ? Promise.resolve() : discard(previous))
      .then(async () => { await makeFilesystem(mount, quota, owner) })
      .then(() => true, () => false)
    this.spare = { key, mount, made }
  }

  /** Unmounts and removes the spare; none is made after. */
  async close (): Promise<void> {
    this.closed = true
    const spare = this.spare
    this.spare = undefined
    if (spare !== undefined) await discard(spare)
  }
}

/**
 * Removes the spares under `resultsRoot` that a node killed before it could remove them left, and
 * that no run took (a run's outputs live on until that run is collected). Before any run starts.
 */
export async function sweepSpares (resultsRoot: string): Promise<void> {
  const dir = outputsFsDir(resultsRoot)
  const names = await readdir(dir).catch(() => [] as string[])
  const links = new Set<string>()
  const taken = new Set<string>()
  for (const name of names) {
    const path = join(dir, name)
    if ((await lstat(path).catch(() => undefined))?.isSymbolicLink() !== true) continue
    links.add(name)
    const target = await readlink(path).catch(() => undefined)
    if (target !== undefined) taken.add(target)
  }
  const spares = new Set(names.filter(name => name.startsWith(SPARE_PREFIX) && !links.has(name)).map(name => name.replace(/\.img$/, '')))
  for (const name of spares) {
    // one that cannot be removed now (busy) stays for the next start: it must not stop this one
    if (!taken.has(name)) await releaseMount(join(dir, name)).catch(() => undefined)
  }
}

async function discard (spare: Spare): Promise<void> {
  if (await spare.made) await releaseMount(spare.mount).catch(() => undefined)
}

function keyOf (resultsRoot: string, quota: number, owner: Owner): string {
  return `${resultsRoot}\0${quota}\0${owner === undefined ? '' : `${owner.uid}:${owner.gid}`}`
}
