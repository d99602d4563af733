import { execFile } from 'node:child_process'
import { statfs } from 'node:fs/promises'
import { availableParallelism, totalmem } from 'node:os'
import { promisify } from 'node:util'

export interface Capacity {
  /** milli-cores */
  cpu: number
  gpu: number
  /** VRAM of the smallest GPU, MB */
  gpuVramMb: number
  ramMb: number
  diskMb: number
}

const run = promisify(execFile)

/** GPUs through nvidia-smi when it is installed; none otherwise. */
async function detectGpus (): Promise<{ count: number, vramMb: number }> {
  try {
    const { stdout } = await run('nvidia-smi', ['--query-gpu=memory.total', '--format=csv,noheader,nounits'], { timeout: 5_000 })
    const sizes = stdout.split('\n').map(line => Number(line.trim())).filter(n => Number.isFinite(n) && n > 0)
    return { count: sizes.length, vramMb: sizes.length === 0 ? 0 : Math.min(...sizes) }
  } catch {
    return { count: 0, vramMb: 0 }
  }
}

/** What this machine can offer: its cores, memory, free disk under `dataDir`, and GPUs. */
export async function detectCapacity (dataDir: string): Promise<Capacity> {
  const gpus = await detectGpus()
  const disk = await statfs(dataDir).catch(() => undefined)
  return {
    cpu: availableParallelism() * 1000,
    gpu: gpus.count,
    gpuVramMb: gpus.vramMb,
    ramMb: Math.floor(totalmem() / (1024 * 1024)),
    diskMb: disk === undefined ? 0 : Math.floor(Number(disk.bavail) * Number(disk.bsize) / (1024 * 1024))
  }
}
