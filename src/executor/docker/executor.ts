import type { Readable } from 'node:stream'
import { access, readdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { finished } from 'node:stream/promises'
import Docker from 'dockerode'
import { CappedFileWriter } from '../results/capped-writer.ts'
import { ExecutionError, type ExecutionResult } from '../results/execution.ts'
import { prepareResultsDir, readExitCode, resultsPaths, writeExitCode } from '../results/layout.ts'
import { containerName, DEADLINE_LABEL, JOB_LABEL, RESULTS_LABEL } from './container-name.ts'
import { resolveImage, type ResolveImageOptions } from './image.ts'
import { envList, type DockerJob } from './job.ts'
import { containerLimits, gpuDeviceRequests, type ContainerLimits, type SlotSize } from './limits.ts'
import { closeOutputs, DEFAULT_OUTPUTS_BYTES, defaultOutputsMode, openOutputs, outputsFsDir, release, type OutputsMode } from './outputs-fs.ts'
import { SpareOutputs, sweepSpares } from './spare-outputs.ts'
import { delay } from '../../support/delay.ts'

export interface DockerExecutorOptions {
  docker?: Docker
  /** what a job gets when its spec names no limit: memory alike on every node (a protocol constant outside tests), CPU where there is no slot */
  defaultResources?: Omit<ContainerLimits, 'gpus'>
  /** one slot's size: a job's CPU, memory and GPUs are clamped to it (see containerLimits) */
  slot?: SlotSize
  /** honour a job's request for a network (default: every job runs with none) */
  allowNetwork?: boolean
  /** how `/outputs` is bounded (default: `filesystem` on a root node with mkfs.ext4) */
  outputsMode?: OutputsMode
  stdoutLimitBytes?: number
  stderrLimitBytes?: number
  tmpfsBytes?: number
  pullTimeoutMs?: number
  /** accept tags such as `busybox:latest` (never on a network node: parties could run different bytes) */
  allowUnpinnedImages?: boolean
  /** numeric `uid:gid` inside the container; by default 65534:65534 (nobody) on a root node, else the node's own */
  user?: string
  namePrefix?: string
  /** how a pull goes on (see image.ts) */
  onPullProgress?: ResolveImageOptions['onPullProgress']
  /** the largest image (its layers, compressed) this node pulls; default DEFAULT_MAX_IMAGE_BYTES */
  maxImageBytes?: number
  /**
   * keep an outputs filesystem made ahead of the next run (spare-outputs.ts); the executor's owner
   * then calls `close()` once it runs no more jobs
   */
  spareOutputs?: boolean
  /**
   * remove a run's container and outputs image after `run` resolves with its results, not before
   * (30-50 ms off the way to them); `cleanedUp()` and `close()` wait for it, `sweep()` finishes
   * what a kill cut short
   */
  cleanUpAfterResults?: boolean
  /**
   * with `cleanUpAfterResults`: hold that cleanup, and the making of the next spare outputs
   * filesystem, back this long after the run is collected, while its results are hashed and handed
   * over (mkfs, mount and removal beside them cost those 40 ms on two cores); default 0
   */
  quietAfterResultsMs?: number
}

/** Large enough for the GPU images of real modules (CUDA and a model: 10-20 GB), small enough that a job offer cannot fill a disk. */
export const DEFAULT_MAX_IMAGE_BYTES = 50 * 1024 ** 3

const MiB = 1024 * 1024
/** nobody:nogroup: owns nothing on the host, so a job escaping its container can do little */
export const UNPRIVILEGED_USER = '65534:65534'
const DEFAULTS = {
  defaultResources: { cpuMilli: 1000, memoryBytes: 512 * MiB, pids: 256 },
  stdoutLimitBytes: 10 * MiB,
  stderrLimitBytes: 10 * MiB,
  tmpfsBytes: 64 * MiB,
  pullTimeoutMs: 300_000,
  namePrefix: 'lilypad-job-'
}
/** how long to wait for the log stream to drain once the container has stopped */
const LOG_DRAIN_MS = 5_000
/** the same for the attached stream, which ends by itself: a bound only against an engine that hangs */
const ATTACHED_DRAIN_MS = 120_000

export interface JobContainer {
  jobId: string
  containerId: string
  name: string
  running: boolean
}

/**
 * Runs each job in its own locked-down container: no network (unless the node allows it and the
 * job asks), an unprivileged user, all capabilities dropped, read-only root, writable `/outputs`
 * (with a quota) and `/tmp` only, `nosuid,nodev`, memory/cpu/pids limits clamped to the slot, and
 * a hard timeout. Idempotent by job id: a second `run` of a job reattaches to its container if it still
 * runs, or returns the results it left if it finished.
 */
export class DockerExecutor {
  readonly docker: Docker
  private readonly options: typeof DEFAULTS & DockerExecutorOptions
  private readonly inFlight = new Map<string, Promise<ExecutionResult>>()
  private readonly user: string | undefined
  private readonly outputsMode: OutputsMode
  private readonly spares: SpareOutputs | undefined
  /** removals of finished runs' containers and outputs images, under way */
  private readonly cleanups = new Set<Promise<void>>()
  /** work held back while a run's results are handed over (quietAfterResultsMs) */
  private readonly held: Array<() => Promise<void> | void> = []
  private heldTimer: ReturnType<typeof setTimeout> | undefined

  constructor (options: DockerExecutorOptions = {}) {
    this.options = { ...DEFAULTS, ...options }
    this.docker = options.docker ?? new Docker()
    this.user = options.user ?? defaultUser()
    if (this.user !== undefined && numericUser(this.user) === undefined) {
      throw new Error(`the container user must be a numeric uid:gid, not ${JSON.stringify(this.user)}`)
    }
    this.outputsMode = options.outputsMode ?? defaultOutputsMode()
    this.spares = options.spareOutputs === true && this.outputsMode === 'filesystem' ? new SpareOutputs() : undefined
  }

  /** Makes an outputs filesystem ahead of the next job whose results go under `resultsRoot` (with the default quota). */
  prepareOutputs (resultsRoot: string): void {
    this.spares?.replenish(resultsRoot, DEFAULT_OUTPUTS_BYTES, numericUser(this.user))
  }

  /**
   * Removes what runs under `resultsRoot` that were collected left when the node was killed before
   * cleaning up after them (their containers and outputs images), and the outputs filesystems made
   * ahead that no run took. Before any run starts.
   */
  async sweep (resultsRoot: string): Promise<void> {
    const collected = async (resultsDir: string): Promise<boolean> => await readExitCode(resultsDir) !== undefined
    const stopped = await this.docker.listContainers({ all: true, filters: { label: [RESULTS_LABEL], status: ['exited', 'dead', 'created'] } }).catch(() => [])
    for (const c of stopped) {
      const resultsDir = c.Labels[RESULTS_LABEL] ?? ''
      if (dirname(resultsDir) === resultsRoot && await collected(resultsDir)) await this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)
    }
    for (const name of await readdir(outputsFsDir(resultsRoot)).catch(() => [] as string[])) {
      if (!name.endsWith('.img') && await collected(join(resultsRoot, name))) await release(join(resultsRoot, name)).catch(() => undefined)
    }
    await sweepSpares(resultsRoot)
  }

  /** Resolves once finished runs' containers and outputs images are removed (they go after `run` resolves). */
  async cleanedUp (): Promise<void> {
    this.releaseHeld()
    while (this.cleanups.size > 0) await Promise.all([...this.cleanups])
  }

  /** Removes the outputs filesystem made ahead, if any, once finished runs are cleaned up. */
  async close (): Promise<void> {
    await this.cleanedUp()
    await this.spares?.close()
  }

  /** Whether the engine can give containers NVIDIA GPUs (the NVIDIA runtime is installed). */
  async gpuRuntime (): Promise<boolean> {
    const info = await this.docker.info().catch(() => undefined) as { Runtimes?: Record<string, unknown> } | undefined
    return info?.Runtimes !== undefined && Object.keys(info.Runtimes).includes('nvidia')
  }

  /** Fails with DOCKER_UNAVAILABLE when no engine answers. */
  async ping (): Promise<void> {
    try {
      await this.docker.ping()
    } catch (err) {
      throw new ExecutionError('DOCKER_UNAVAILABLE', `no Docker engine answers (${(err as Error).message}); start dockerd or set DOCKER_HOST`, { cause: err })
    }
  }

  /**
   * The local id of an image as a job would use it: refused unless pinned (when this executor
   * requires it), pulled when missing. Lets a provider check an image before it takes a job.
   */
  ensureImage (ref: string, signal?: AbortSignal): Promise<string> {
    return resolveImage(this.docker, ref, {
      allowUnpinned: this.options.allowUnpinnedImages, pullTimeoutMs: this.options.pullTimeoutMs, signal, onPullProgress: this.options.onPullProgress,
      maxImageBytes: this.options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES
    })
  }

  run (job: DockerJob, signal?: AbortSignal): Promise<ExecutionResult> {
    const running = this.inFlight.get(job.jobId)
    if (running !== undefined) return running
    const p = this.runOnce(job, signal).finally(() => this.inFlight.delete(job.jobId))
    this.inFlight.set(job.jobId, p)
    return p
  }

  /**
   * Creates and starts the job's container and returns without waiting for it (a later `run`
   * collects it). Does nothing when the container already exists.
   */
  async start (job: DockerJob, signal?: AbortSignal): Promise<void> {
    validate(job)
    if (await this.findContainer(job.jobId) !== undefined) return
    // not attached: the run that collects it reads its logs
    await this.createAndStart(job, signal, false)
  }

  /** The containers this executor's prefix owns, e.g. to clean up after a restart. */
  async list (): Promise<JobContainer[]> {
    const all = await this.docker.listContainers({ all: true, filters: { label: [JOB_LABEL] } })
    return all
      .filter(c => c.Names.some(n => n.startsWith(`/${this.options.namePrefix}`)))
      .map(c => ({ jobId: c.Labels[JOB_LABEL] ?? '', containerId: c.Id, name: (c.Names[0] ?? '').slice(1), running: c.State === 'running' }))
  }

  /** Kills and removes a job's container, if any. */
  async remove (jobId: string): Promise<void> {
    const c = this.docker.getContainer(containerName(this.options.namePrefix, jobId))
    await c.remove({ force: true, v: true }).catch(ignoreNotFound)
  }

  /**
   * The container settings a job gets here: its limits, its outputs quota and whether it has a
   * network. Throws when the job cannot run here (GPUs, network or disk it cannot have).
   */
  limits (job: DockerJob): ContainerLimits & { network: boolean, outputsBytes: number } {
    if (job.network === true && this.options.allowNetwork !== true) {
      throw new ExecutionError('NETWORK_NOT_ALLOWED', `job ${job.jobId} asks for a network, and this node runs jobs without one`)
    }
    const limits = containerLimits(job.jobId, job.resources ?? {}, this.options.slot, this.options.defaultResources)
    const named = job.outputsBytes !== undefined && job.outputsBytes > 0 ? job.outputsBytes : undefined
    // refused rather than clamped: every machine re-running the job must apply the same quota
    const disk = this.options.slot?.diskBytes
    if (named !== undefined && disk !== undefined && disk > 0 && named > disk) {
      throw new ExecutionError('OUTPUTS_TOO_LARGE', `job ${job.jobId} may leave ${named} bytes in /outputs, more than this node's ${disk}-byte slot holds`)
    }
    return { ...limits, network: job.network === true, outputsBytes: named ?? DEFAULT_OUTPUTS_BYTES }
  }

  private async runOnce (job: DockerJob, signal?: AbortSignal): Promise<ExecutionResult> {
    validate(job)
    throwIfCancelled(job, signal)
    try {
      // collected to the end already (a restart after it): only what the run left may remain
      const finishedCode = await readExitCode(job.resultsDir)
      if (finishedCode !== undefined) {
        await this.cleanUp(job, this.docker.getContainer(containerName(this.options.namePrefix, job.jobId)))
        return recoveredResult(job, finishedCode)
      }
      // the results folder is made before the container: where there is none, no container was made
      const found = await exists(job.resultsDir) ? await this.findContainer(job.jobId) : undefined
      if (found !== undefined) return await this.collect(job, found, signal)
      const { container, output } = await this.createAndStart(job, signal)
      return await this.collect(job, container, signal, output)
    } finally {
      this.afterResults(() => { this.replenish(job) })
    }
  }

  /** Runs `task` once the results had their quiet time (quietAfterResultsMs), or at once. */
  private afterResults (task: () => Promise<void> | void): void {
    const quietMs = this.options.quietAfterResultsMs ?? 0
    if (quietMs <= 0) {
      this.track(Promise.resolve().then(task))
      return
    }
    this.held.push(task)
    this.heldTimer ??= setTimeout(() => { this.releaseHeld() }, quietMs).unref()
  }

  private releaseHeld (): void {
    clearTimeout(this.heldTimer)
    this.heldTimer = undefined
    for (const task of this.held.splice(0)) this.track(Promise.resolve().then(task))
  }

  /** A spare outputs filesystem for the next run like `job`, made once `job`'s has ended. */
  private replenish (job: DockerJob): void {
    if (this.spares === undefined) return
    try {
      this.spares.replenish(dirname(job.resultsDir), this.limits(job).outputsBytes, numericUser(this.user))
    } catch {
      // a job that cannot run here needs no spare
    }
  }

  private async findContainer (jobId: string): Promise<Docker.Container | undefined> {
    const c = this.docker.getContainer(containerName(this.options.namePrefix, jobId))
    try {
      const info = await c.inspect()
      return info.Config.Labels?.[JOB_LABEL] === jobId ? c : undefined
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return undefined
      throw new ExecutionError('DOCKER_UNAVAILABLE', `cannot inspect the container of job ${jobId}: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * Creates and starts the job's container, attached to its stdout and stderr before it starts: every
   * byte it writes comes through, in order, and a job writing faster than it is read waits.
   */
  private async createAndStart (job: DockerJob, signal?: AbortSignal, attach = true): Promise<{ container: Docker.Container, output?: Readable }> {
    const r = this.limits(job)
    // a run starting now needs an outputs filesystem: what the runs before it held back goes first
    this.releaseHeld()
    const imageId = await this.ensureImage(job.image, signal)
    throwIfCancelled(job, signal)
    await prepareResultsDir(job.resultsDir)
    const owner = numericUser(this.user)
    const outputs = await this.spares?.take(dirname(job.resultsDir), job.resultsDir, r.outputsBytes, owner) ??
      await openOutputs(job.resultsDir, r.outputsBytes, this.outputsMode, owner)
    const logBudget = Math.ceil(4 * (this.options.stdoutLimitBytes + this.options.stderrLimitBytes) / MiB) + 1
    const name = containerName(this.options.namePrefix, job.jobId)
    let container: Docker.Container
    try {
      container = await this.docker.createContainer({
        name,
        Image: imageId,
        Entrypoint: job.entrypoint,
        Cmd: job.cmd,
        Env: envList(job.env),
        WorkingDir: job.workingDir,
        User: this.user,
        Labels: { [JOB_LABEL]: job.jobId, [DEADLINE_LABEL]: String(Date.now() + job.timeoutMs), [RESULTS_LABEL]: job.resultsDir },
        NetworkDisabled: !r.network,
        AttachStdin: false,
        OpenStdin: false,
        Tty: false,
        HostConfig: {
          NetworkMode: r.network ? 'bridge' : 'none',
          Privileged: false,
          CapDrop: ['ALL'],
          SecurityOpt: ['no-new-privileges'],
          ReadonlyRootfs: true,
          Binds: [`${outputs}:/outputs:rw`],
          Mounts: (job.inputs ?? []).map(input => ({ Type: 'bind' as const, Source: input.source, Target: input.target, ReadOnly: true })),
          Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${this.options.tmpfsBytes}${owner === undefined ? '' : `,uid=${owner.uid},gid=${owner.gid}`}` },
          Memory: r.memoryBytes,
          MemorySwap: r.memoryBytes,
          NanoCpus: Math.round(r.cpuMilli * 1e6),
          PidsLimit: r.pids,
          DeviceRequests: gpuDeviceRequests(r.gpus),
          IpcMode: 'private',
          LogConfig: { Type: 'json-file', Config: { 'max-size': `${logBudget}m`, 'max-file': '1' } }
        }
      })
    } catch (err) {
      // another process created it first (a restart racing its predecessor): collect that one
      if ((err as { statusCode?: number }).statusCode === 409) return { container: this.docker.getContainer(name) }
      await release(job.resultsDir).catch(() => undefined)
      throw new ExecutionError('EXECUTION_FAILED', `cannot create a container for job ${job.jobId}: ${(err as Error).message}`, { cause: err })
    }
    let output: Readable | undefined
    try {
      if (attach) output = await container.attach({ stream: true, stdout: true, stderr: true, logs: false }) as unknown as Readable
      await container.start()
    } catch (err) {
      output?.destroy()
      await container.remove({ force: true }).catch(ignoreNotFound)
      await release(job.resultsDir).catch(() => undefined)
      throw new ExecutionError('EXECUTION_FAILED', `cannot start the container of job ${job.jobId}: ${firstLine(err)}`, { cause: err })
    }
    return { container, output }
  }

  /**
   * Streams the container's output into capped files, enforces its deadline, and cleans up. The
   * output is what the attached stream carries, to its end; a container found already running (after
   * a restart) has its logs read instead, for as long as they drain.
   */
  private async collect (job: DockerJob, container: Docker.Container, signal?: AbortSignal, attached?: Readable): Promise<ExecutionResult> {
    const info = await container.inspect()
    const startedAt = Date.parse(info.State.StartedAt) || Date.now()
    const deadline = Number(info.Config.Labels?.[DEADLINE_LABEL] ?? Date.now() + job.timeoutMs)
    const paths = resultsPaths(job.resultsDir)
    const stdout = new CappedFileWriter(paths.stdout, this.options.stdoutLimitBytes)
    const stderr = new CappedFileWriter(paths.stderr, this.options.stderrLimitBytes)
    let timedOut = false
    let cancelled = false
    let collected = false
    const kill = (): void => { container.kill({ signal: 'SIGKILL' }).catch(() => undefined) }
    const timer = setTimeout(() => { timedOut = true; kill() }, Math.max(0, deadline - Date.now()))
    const onAbort = (): void => { cancelled = true; kill() }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted) onAbort()
    try {
      const logs = attached ?? await container.logs({ follow: true, stdout: true, stderr: true }) as unknown as Readable
      const drained = finished(logs).catch(() => undefined)
      container.modem.demuxStream(logs, stdout, stderr)
      const exited = await container.wait({ condition: 'not-running' }) as { StatusCode: number }
      // the attached stream ends once the container's stdout and stderr close: every byte is in
      await Promise.race([drained, delay(attached === undefined ? LOG_DRAIN_MS : ATTACHED_DRAIN_MS, { ref: false })])
      logs.destroy()
      const state = (await container.inspect()).State
      stdout.end(); stderr.end()
      await Promise.all([finished(stdout), finished(stderr)])
      if (cancelled) throw new ExecutionError('EXECUTION_CANCELLED', `job ${job.jobId} was cancelled`)
      await closeOutputs(job.resultsDir, this.limits(job).outputsBytes, this.outputsMode)
      const exitCode = state.ExitCode ?? exited.StatusCode
      await writeExitCode(job.resultsDir, exitCode)
      collected = true
      return {
        jobId: job.jobId,
        resultsDir: job.resultsDir,
        exitCode,
        timedOut,
        oomKilled: state.OOMKilled === true,
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        durationMs: Math.max(0, (Date.parse(state.FinishedAt) || Date.now()) - startedAt),
        recovered: false
      }
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      stdout.destroy(); stderr.destroy()
      if (collected && this.options.cleanUpAfterResults === true) this.afterResults(async () => { await this.cleanUp(job, container) })
      else await this.cleanUp(job, container)
    }
  }

  /** Removes a run's container and outputs image, once its results are in or it failed. */
  private async cleanUp (job: DockerJob, container: Docker.Container): Promise<void> {
    await container.remove({ force: true, v: true }).catch(() => undefined)
    if (this.outputsMode === 'filesystem') await release(job.resultsDir).catch(() => undefined)
  }

  private track (cleanup: Promise<void>): void {
    this.cleanups.add(cleanup)
    void cleanup.finally(() => this.cleanups.delete(cleanup))
  }
}

function validate (job: DockerJob): void {
  if (typeof job.jobId !== 'string' || job.jobId.length === 0) throw new ExecutionError('BAD_JOB_SPEC', 'a job needs a non-empty jobId')
  if (typeof job.image !== 'string' || job.image.length === 0) throw new ExecutionError('BAD_JOB_SPEC', `job ${job.jobId} names no image`)
  if (!(Number.isFinite(job.timeoutMs) && job.timeoutMs > 0)) throw new ExecutionError('BAD_JOB_SPEC', `job ${job.jobId} needs a positive timeoutMs`)
  if (typeof job.resultsDir !== 'string' || job.resultsDir.length === 0) throw new ExecutionError('BAD_JOB_SPEC', `job ${job.jobId} needs a resultsDir`)
}

function throwIfCancelled (job: DockerJob, signal?: AbortSignal): void {
  if (signal?.aborted) throw new ExecutionError('EXECUTION_CANCELLED', `job ${job.jobId} was cancelled`)
}

function recoveredResult (job: DockerJob, exitCode: number): ExecutionResult {
  return {
    jobId: job.jobId, resultsDir: job.resultsDir, exitCode, timedOut: false, oomKilled: false,
    stdoutTruncated: false, stderrTruncated: false, durationMs: 0, recovered: true
  }
}

/** A root node's jobs run as nobody; any other node's as the node's own (already unprivileged) user. */
function defaultUser (): string | undefined {
  if (typeof process.getuid !== 'function') return undefined
  return process.getuid() === 0 ? UNPRIVILEGED_USER : `${process.getuid()}:${process.getgid?.() ?? 0}`
}

function numericUser (user: string | undefined): { uid: number, gid: number } | undefined {
  const m = user === undefined ? null : /^(\d+)(?::(\d+))?$/.exec(user)
  return m === null ? undefined : { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) }
}

function ignoreNotFound (err: unknown): void {
  const status = (err as { statusCode?: number }).statusCode
  if (status !== 404 && status !== 409) throw err
}

function firstLine (err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0] ?? ''
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}
