import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { removeTree } from './remove-tree.ts'

/** A fresh folder per call, removed after the test (with whatever is mounted in it). */
export function useTempDirs (): () => Promise<string> {
  const made: string[] = []
  afterEach(async () => {
    await Promise.all(made.splice(0).map(removeTree))
  })
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lilypad-test-'))
    made.push(dir)
    return dir
  }
}
