// Runs system git with prompts disabled, and turns its failures into one line.
import { execFile } from 'node:child_process'

export interface GitResult { stdout: string, stderr: string }

export class GitFailure extends Error {
  constructor (readonly args: string[], readonly stderr: string, readonly exitCode: number | null) {
    super(`git ${args.join(' ')} failed: ${lastLine(stderr) || `exit ${exitCode}`}`)
    this.name = 'GitFailure'
  }
}

export function lastLine (text: string): string {
  const lines = text.split('\n').map(l => l.trim()).filter(l => l !== '')
  return lines[lines.length - 1] ?? ''
}

export interface GitOptions {
  cwd?: string
  timeoutMs?: number
  signal?: AbortSignal
}

export function git (args: string[], opts: GitOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', args, {
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 120_000,
      signal: opts.signal,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true', LC_ALL: 'C' }
    }, (err, stdout, stderr) => {
      if (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error('git is not installed or not on PATH'))
          return
        }
        if (err.name === 'AbortError') {
          reject(err)
          return
        }
        const code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null
        reject(new GitFailure(args, stderr, code))
        return
      }
      resolve({ stdout, stderr })
    })
  })
}
