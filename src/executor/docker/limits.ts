import { ExecutionError } from '../results/execution.ts'
import type { DockerResources } from './job.ts'

/** The most one job may have on this node: one slot's size. */
export interface SlotSize {
  cpuMilli: number
  memoryBytes: number
  gpus: number
  /** the slot's disk: a job whose outputs quota is larger is refused */
  diskBytes?: number
}

export type ContainerLimits = Required<DockerResources>

/**
 * What a job's container gets. CPU the job names is clamped to the slot, and a job naming none (or
 * zero, which Docker would read as "unlimited") gets the whole slot: CPU changes how fast a job
 * runs, not what it writes. Memory changes what it writes (a run killed for it), so every machine
 * gives a job the same: what it names, else the default; a slot smaller than that refuses the job
 * (RESOURCES_UNAVAILABLE) rather than run it under another limit than its re-runs get. GPUs are
 * devices, not a limit: a job gets the GPUs it names, clamped to the slot, and none when it names
 * none; a job naming GPUs where the slot has none is refused, never run on CPUs.
 * Without a slot (a node that only checks or re-runs jobs) a job gets what it names, and the
 * defaults where it names nothing.
 */
export function containerLimits (jobId: string, asked: DockerResources, slot: SlotSize | undefined, defaults: Omit<ContainerLimits, 'gpus'>): ContainerLimits {
  const within = (value: number | undefined, ceiling: number | undefined, fallback: number): number => {
    const v = positive(value)
    if (ceiling === undefined || ceiling <= 0) return v ?? fallback
    return v === undefined ? ceiling : Math.min(v, ceiling)
  }
  const gpusAsked = positive(asked.gpus) ?? 0
  const gpusHere = slot?.gpus ?? 0
  if (gpusAsked > 0 && gpusHere <= 0) {
    throw new ExecutionError('GPU_UNAVAILABLE', `job ${jobId} asks for ${gpusAsked} GPU(s), and this node gives jobs none`)
  }
  return {
    cpuMilli: within(asked.cpuMilli, slot?.cpuMilli, defaults.cpuMilli),
    memoryBytes: sameEverywhere(jobId, positive(asked.memoryBytes) ?? defaults.memoryBytes, slot?.memoryBytes),
    pids: positive(asked.pids) ?? defaults.pids,
    gpus: Math.min(gpusAsked, gpusHere)
  }
}

function sameEverywhere (jobId: string, memoryBytes: number, slotBytes: number | undefined): number {
  if (slotBytes !== undefined && slotBytes > 0 && memoryBytes > slotBytes) {
    throw new ExecutionError('RESOURCES_UNAVAILABLE', `job ${jobId} runs with ${memoryBytes} bytes of memory, more than this node's ${slotBytes}-byte slot gives`)
  }
  return memoryBytes
}

function positive (n: number | undefined): number | undefined {
  return n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined
}

/** Docker's device request for `count` NVIDIA GPUs (what `docker run --gpus N` sends). */
export function gpuDeviceRequests (count: number): Array<{ Driver: string, Count: number, Capabilities: string[][] }> {
  return count > 0 ? [{ Driver: 'nvidia', Count: count, Capabilities: [['gpu']] }] : []
}
