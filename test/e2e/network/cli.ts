import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { repoRoot } from '../../support/child.ts'

export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the `lilypad` command as a user would, in its own process. */
export function lilypad (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin/lilypad.js'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The lines of a stream of output that are `lilypad run`'s own error lines. */
export function errorLines (text: string): string[] {
  return text.split('\n').filter(line => line.startsWith('lilypad run: '))
}
