import { execFile } from 'node:child_process'
import { accessSync, constants, createReadStream, createWriteStream } from 'node:fs'
import { chmod, chown, lstat, mkdir, open, readdir, readlink, rm, rmdir, symlink } from 'node:fs/promises'
import { pipeline } from 'node:stream/promises'
import { basename, delimiter, dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { ExecutionError } from '../results/execution.ts'
import { ResultsError } from '../results/errors.ts'
import { resultsPaths } from '../results/layout.ts'

const run = promisify(execFile)
const MiB = 1024 * 1024

/** Used when a module's spec names no `Disk`: the same on every machine, so every re-run agrees. */
export const DEFAULT_OUTPUTS_BYTES = 1024 * MiB

/**
 * How a job's `/outputs` is bounded.
 *
 * `filesystem` (a root node with mkfs.ext4): each job writes into its own ext4 image, loop-mounted
 * `nosuid,nodev` and a little larger than the quota, whose files are copied into the results
 * folder once the container has stopped. The kernel stops the writes, so a module that fills its
 * disk fills only its image, and the host's disk, the next job and the node are untouched. A
 * watchdog would let a fast writer past the limit; a tmpfs would hold the quota in memory and
 * vanish with the container.
 *
 * `directory` (any other node): `/outputs` is a plain folder; nothing stops the writes as they
 * happen, only the check below.
 *
 * Either way the verdict is the same arithmetic on every machine: the run fails with
 * OUTPUTS_TOO_LARGE when the sizes of its files add up to more than the quota. The image's slack
 * covers ext4's own blocks, so an honest job within its quota never meets a full disk and a
 * mediator re-running it gets the provider's results CID.
 */
export type OutputsMode = 'filesystem' | 'directory'

export function defaultOutputsMode (): OutputsMode {
  return process.getuid?.() === 0 && findCommand('mkfs.ext4') !== undefined ? 'filesystem' : 'directory'
}

/** The image's size for a quota: the quota, 1/16 more and 16 MiB for ext4's own metadata. */
export function imageBytes (quota: number): number {
  return Math.ceil((quota + quota / 16 + 16 * MiB) / 4096) * 4096
}

/** Where the outputs filesystems of the runs whose results go under `resultsRoot` are mounted. */
export function outputsFsDir (resultsRoot: string): string {
  return join(resultsRoot, '.outputs-fs')
}

/** Where a job's outputs filesystem is mounted (or the link to the one it adopted). */
function mountOf (resultsDir: string): string {
  return join(outputsFsDir(dirname(resultsDir)), basename(resultsDir))
}

/**
 * Makes the job's `/outputs` (the results folder's `outputs/` already exists, empty) and returns
 * the host path to bind there, writable by `owner`.
 */
export async function openOutputs (resultsDir: string, quota: number, mode: OutputsMode, owner?: { uid: number, gid: number }): Promise<string> {
  if (mode === 'directory') {
    const dir = resultsPaths(resultsDir).outputs
    if (owner !== undefined && process.getuid?.() === 0) await chown(dir, owner.uid, owner.gid)
    return dir
  }
  await release(resultsDir)
  const mount = mountOf(resultsDir)
  await makeFilesystem(mount, quota, owner)
  return mount
}

/**
 * Makes an outputs filesystem for `quota` (its image beside it, `<mount>.img`) and mounts it at
 * `mount`, writable by `owner`.
 */
export async function makeFilesystem (mount: string, quota: number, owner?: { uid: number, gid: number }): Promise<void> {
  const image = `${mount}.img`
  await mkdir(mount, { recursive: true })
  try {
    const file = await open(image, 'w')
    await file.truncate(imageBytes(quota)).finally(() => file.close())
    const rootOwner = owner === undefined ? [] : ['-E', `root_owner=${owner.uid}:${owner.gid}`]
    await run(findCommand('mkfs.ext4') ?? 'mkfs.ext4', ['-q', '-F', '-m', '0', '-i', '8192', '-O', '^has_journal', ...rootOwner, image])
    await run('mount', ['-o', 'loop,nosuid,nodev,noatime', image, mount])
    await rmdir(join(mount, 'lost+found'))
    if (owner === undefined) await chmod(mount, 0o1777)
  } catch (err) {
    await releaseMount(mount).catch(() => undefined)
    throw new ExecutionError('EXECUTION_FAILED', `cannot make the outputs filesystem ${mount}: ${firstLine(err)}`, { cause: err })
  }
}

/**
 * Makes a filesystem mounted at `mount` (made ahead: spare-outputs.ts) the job's outputs
 * filesystem. A mount point cannot be renamed, so the job's name for it is a link to it.
 */
export async function adoptFilesystem (resultsDir: string, mount: string): Promise<void> {
  await release(resultsDir)
  await symlink(basename(mount), mountOf(resultsDir))
}

/**
 * Once the container has stopped: fails with OUTPUTS_TOO_LARGE when the outputs are over the
 * quota, else leaves them in the results folder's `outputs/`. The image stays until `release`.
 */
export async function closeOutputs (resultsDir: string, quota: number, mode: OutputsMode): Promise<void> {
  const source = mode === 'filesystem' ? mountOf(resultsDir) : resultsPaths(resultsDir).outputs
  const used = await bytesIn(source)
  if (used > quota) {
    throw new ExecutionError('OUTPUTS_TOO_LARGE', `the job left ${used} bytes in /outputs, over its quota of ${quota}`)
  }
  if (mode === 'filesystem') await copyTree(source, resultsPaths(resultsDir).outputs)
}

/** Unmounts and deletes a job's outputs image, if it has one (its own, or one it adopted). */
export async function release (resultsDir: string): Promise<void> {
  const mount = mountOf(resultsDir)
  const adopted = await readlink(mount).catch(() => undefined)
  if (adopted === undefined) return await releaseMount(mount)
  await releaseMount(join(dirname(mount), adopted))
  await rm(mount, { force: true })
}

/** Unmounts the outputs filesystem at `mount`, if mounted, and deletes it and its image. */
export async function releaseMount (mount: string): Promise<void> {
  // nothing there, nothing mounted: spares a process start on the way to every container's
  if (await lstat(mount).then(() => true, () => false)) {
    await unmount(mount)
    await rm(mount, { recursive: true, force: true })
  }
  await rm(`${mount}.img`, { force: true })
}

async function unmount (mount: string): Promise<void> {
  await run('umount', [mount]).catch((err: unknown) => {
    const text = String((err as { stderr?: string }).stderr ?? '')
    if (!/not mounted|no mount point|not found|no such file/i.test(text)) throw err
  })
}

/** The sizes of every regular file under `dir` added up (sparse files at their full size). */
async function bytesIn (dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += await bytesIn(path)
    else if (entry.isFile()) total += (await lstat(path)).size
  }
  return total
}

/**
 * Copies folders and regular files. Names starting with a dot are left behind, as the results'
 * CID leaves them out; anything else (a link, a FIFO, a socket) is refused as the results layer
 * refuses it.
 */
async function copyTree (from: string, to: string, shown = 'outputs'): Promise<void> {
  await mkdir(to, { recursive: true })
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue
    const source = join(from, entry.name)
    const target = join(to, entry.name)
    if (entry.isDirectory()) await copyTree(source, target, `${shown}/${entry.name}`)
    else if (entry.isFile()) await copyContent(source, target)
    else throw new ResultsError('RESULTS_UNSUPPORTED_ENTRY', `${shown}/${entry.name} is neither a regular file nor a folder (links and devices are not allowed in results)`)
  }
}

/**
 * The file's bytes and its read/write/execute bits, never its setuid, setgid or sticky bits: the
 * node copies as root, and a copied mode would make a job's file a root-owned setuid program.
 */
async function copyContent (source: string, target: string): Promise<void> {
  const { mode } = await lstat(source)
  await pipeline(createReadStream(source), createWriteStream(target, { flags: 'wx', mode: 0o600 }))
  await chmod(target, mode & 0o755)
}

function findCommand (command: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(d => d !== ''), '/sbin', '/usr/sbin']
  return dirs.map(dir => join(dir, command)).find(path => {
    try {
      accessSync(path, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

function firstLine (err: unknown): string {
  const e = err as { stderr?: string, message?: string }
  return String(e.stderr !== undefined && e.stderr !== '' ? e.stderr : e.message ?? err).trim().split('\n')[0] ?? ''
}
