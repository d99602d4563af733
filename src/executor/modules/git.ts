// Runs system git with a minimal environment, no prompts, credential helpers or hooks, and only the
// transports a command is allowed; turns its failures into one line.
import { execFile } from 'node:child_process'
import { dirSize } from './dir-size.ts'

export interface GitResult { stdout: string, stderr: string }

export class GitFailure extends Error {
  constructor (readonly args: string[], readonly stderr: string, readonly exitCode: number | null) {
    super(`git ${args.join(' ')} failed: ${lastLine(stderr) || `exit ${exitCode}`}`)
    this.name = 'GitFailure'
  }
}

/** A fetch or clone stopped because the folder it was writing grew past its cap. */
export class GitTooLarge extends Error {
  constructor (readonly maxBytes: number) {
    super(`the repository is larger than the ${maxBytes}-byte limit`)
    this.name = 'GitTooLarge'
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
  /** Transports this command may use (`https`, `file`…); none unless named. */
  protocols?: readonly string[]
  /** Stops the command once `dir` holds more than `maxBytes`. */
  cap?: { dir: string, maxBytes: number }
}

const CAP_POLL_MS = 200

/**
 * Only what git needs: none of the node's environment (its private key among it), no GIT_*
 * overrides from it, and no system or user configuration (which could name credential helpers,
 * hooks, proxies or rewrites).
 */
export function gitEnv (): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1'
  }
}

function configArgs (protocols: readonly string[]): string[] {
  return [
    '-c', 'protocol.allow=never',
    ...protocols.flatMap(p => ['-c', `protocol.${p}.allow=always`]),
    '-c', 'credential.helper=',
    '-c', 'core.hooksPath=/dev/null',
    '-c', 'core.fsmonitor=false'
  ]
}

export async function git (args: string[], opts: GitOptions = {}): Promise<GitResult> {
  const capped = opts.cap === undefined ? null : new AbortController()
  const signal = capped === null ? opts.signal : opts.signal === undefined ? capped.signal : AbortSignal.any([opts.signal, capped.signal])
  let over = false
  let poll: NodeJS.Timeout | undefined
  if (opts.cap !== undefined && capped !== null) {
    const { dir, maxBytes } = opts.cap
    const check = (): void => {
      void dirSize(dir).then(size => {
        if (size > maxBytes) { over = true; capped.abort() } else if (!capped.signal.aborted) poll = setTimeout(check, CAP_POLL_MS)
      })
    }
    poll = setTimeout(check, CAP_POLL_MS)
  }
  try {
    return await run([...configArgs(opts.protocols ?? []), ...args], args, { ...opts, signal })
  } catch (err) {
    if (over) throw new GitTooLarge(opts.cap!.maxBytes)
    throw err
  } finally {
    clearTimeout(poll)
    capped?.abort()
  }
}

function run (argv: string[], args: string[], opts: GitOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile('git', argv, {
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 120_000,
      signal: opts.signal,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
      env: gitEnv()
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
