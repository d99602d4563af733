import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/** Runs a TypeScript file of the repository in a child node process. */
export function runTs (file: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Resolves when the child prints `line`; rejects if it exits first. */
export function waitForLine (child: ChildProcess, line: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(() => reject(new Error(`no "${line}" within ${timeoutMs} ms; stderr: ${err}`)), timeoutMs)
    child.stderr!.on('data', (chunk: Buffer) => { err += chunk.toString() })
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.split('\n').includes(line)) { clearTimeout(timer); resolve() }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`child exited (${code}) before "${line}"; stderr: ${err}`)) })
  })
}

export function killed (child: ChildProcess): Promise<void> {
  return new Promise(resolve => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.on('exit', () => resolve())
    child.kill('SIGKILL')
  })
}
