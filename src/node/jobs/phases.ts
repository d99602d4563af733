import type { JobPhase, JobResult, PhaseListener } from './job-on-node.ts'

/** Records each phase once, with the milliseconds since `started`, and passes it on. */
export function phaseRecorder (started: number, timings: JobResult['timings'], onPhase?: PhaseListener): PhaseListener {
  return (name: JobPhase, detail: Record<string, unknown>): void => {
    if (timings[name] !== undefined) return
    timings[name] = Date.now() - started
    onPhase?.(name, detail)
  }
}
