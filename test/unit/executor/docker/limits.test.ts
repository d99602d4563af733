import { describe, expect, it } from 'vitest'
import { containerLimits, gpuDeviceRequests } from '../../../../src/executor/docker/limits.ts'

const MiB = 1024 * 1024
const defaults = { cpuMilli: 1000, memoryBytes: 512 * MiB, pids: 256 }
const slot = { cpuMilli: 4000, memoryBytes: 8192 * MiB, gpus: 2 }

describe('containerLimits', () => {
  it('gives a job naming zero or nothing the whole slot\'s CPU, never "unlimited", and the default memory, as every machine would', () => {
    for (const asked of [{}, { cpuMilli: 0, memoryBytes: 0, gpus: 0 }]) {
      expect(containerLimits('j', asked, slot, defaults)).toEqual({ cpuMilli: 4000, memoryBytes: 512 * MiB, pids: 256, gpus: 0 })
    }
  })

  it('clamps CPU and GPUs above the slot to it, and keeps what fits', () => {
    expect(containerLimits('j', { cpuMilli: 64_000, memoryBytes: 1024 * MiB, gpus: 8 }, slot, defaults)).toEqual({ cpuMilli: 4000, memoryBytes: 1024 * MiB, pids: 256, gpus: 2 })
    expect(containerLimits('j', { cpuMilli: 500, memoryBytes: 100 * MiB, gpus: 1, pids: 32 }, slot, defaults)).toEqual({ cpuMilli: 500, memoryBytes: 100 * MiB, pids: 32, gpus: 1 })
  })

  it('refuses a job whose memory the slot cannot give, rather than run it under another limit than its re-runs get', () => {
    expect(() => containerLimits('job-1', { memoryBytes: 1e12 }, slot, defaults)).toThrow(expect.objectContaining({ code: 'RESOURCES_UNAVAILABLE', message: `job job-1 runs with 1000000000000 bytes of memory, more than this node's ${8192 * MiB}-byte slot gives` }))
    expect(() => containerLimits('job-1', {}, { ...slot, memoryBytes: 256 * MiB }, defaults)).toThrow(expect.objectContaining({ code: 'RESOURCES_UNAVAILABLE' }))
  })

  it('refuses a GPU job where the slot has no GPU, rather than run it on CPUs', () => {
    expect(() => containerLimits('job-1', { gpus: 1 }, { ...slot, gpus: 0 }, defaults)).toThrow(expect.objectContaining({ code: 'GPU_UNAVAILABLE', message: 'job job-1 asks for 1 GPU(s), and this node gives jobs none' }))
    expect(() => containerLimits('job-1', { gpus: 1 }, undefined, defaults)).toThrow(expect.objectContaining({ code: 'GPU_UNAVAILABLE' }))
  })

  it('without a slot gives what the job names, and the defaults for zero or nothing', () => {
    expect(containerLimits('j', { cpuMilli: 0, memoryBytes: 0 }, undefined, defaults)).toEqual({ ...defaults, gpus: 0 })
    expect(containerLimits('j', { cpuMilli: 3000, memoryBytes: 2048 * MiB }, undefined, defaults)).toEqual({ cpuMilli: 3000, memoryBytes: 2048 * MiB, pids: 256, gpus: 0 })
  })
})

describe('gpuDeviceRequests', () => {
  it('asks the NVIDIA driver for the count, as `docker run --gpus N` does, and for nothing at zero', () => {
    expect(gpuDeviceRequests(2)).toEqual([{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }])
    expect(gpuDeviceRequests(0)).toEqual([])
  })
})
