import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Bacalhau's results layout: what every executor leaves in a job's results folder. */
export const RESULTS_FILES = {
  stdout: 'stdout',
  stderr: 'stderr',
  exitCode: 'exitCode',
  outputs: 'outputs'
} as const

export interface ResultsPaths {
  dir: string
  stdout: string
  stderr: string
  exitCode: string
  outputs: string
}

export function resultsPaths (dir: string): ResultsPaths {
  return {
    dir,
    stdout: join(dir, RESULTS_FILES.stdout),
    stderr: join(dir, RESULTS_FILES.stderr),
    exitCode: join(dir, RESULTS_FILES.exitCode),
    outputs: join(dir, RESULTS_FILES.outputs)
  }
}

/** Empties (or creates) a results folder and its `outputs/`, ready for a fresh run. */
export async function prepareResultsDir (dir: string): Promise<ResultsPaths> {
  const paths = resultsPaths(dir)
  await rm(dir, { recursive: true, force: true })
  await mkdir(paths.outputs, { recursive: true })
  return paths
}

/**
 * Writes `exitCode` last and atomically (as Bacalhau does: the number, no newline): its presence
 * marks a finished run, which is how a restarted node knows not to run a job again.
 */
export async function writeExitCode (dir: string, code: number): Promise<void> {
  const tmp = join(dir, `.${RESULTS_FILES.exitCode}.partial`)
  await writeFile(tmp, String(code))
  await rename(tmp, join(dir, RESULTS_FILES.exitCode))
}

/** The exit code of a finished run in `dir`, or undefined when the run did not finish. */
export async function readExitCode (dir: string): Promise<number | undefined> {
  let text: string
  try {
    text = await readFile(join(dir, RESULTS_FILES.exitCode), 'utf8')
  } catch {
    return undefined
  }
  const code = Number(text.trim())
  return Number.isInteger(code) ? code : undefined
}
