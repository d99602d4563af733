import { execFile } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The mount points under `dir`, from the kernel's own table. */
export async function mountsUnder (dir: string): Promise<string[]> {
  const table = await readFile('/proc/self/mounts', 'utf8').catch(() => '')
  return table.split('\n').map(line => line.split(' ')[1] ?? '').filter(point => point.startsWith(`${dir}/`))
}

/**
 * Removes `dir` and everything in it, the outputs filesystems a killed provider left mounted there
 * included (its spare, or a run ahead it never collected): a mount point is not removed while mounted.
 */
export async function removeTree (dir: string): Promise<void> {
  const mounts = await mountsUnder(dir)
  for (const point of mounts.sort((a, b) => b.length - a.length)) await run('umount', ['-l', point]).catch(() => undefined)
  await rm(dir, { recursive: true, force: true })
}
