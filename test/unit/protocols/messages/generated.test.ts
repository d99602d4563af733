import { execFileSync } from 'node:child_process'
import { describe, expect, test } from 'vitest'
import { repoRoot } from '../../../support/child.ts'

function digests (nodeFlags: string[]): unknown {
  const out = execFileSync(process.execPath, [...nodeFlags, '--import', 'tsx', 'test/support/message-digests.mts'], { cwd: repoRoot, encoding: 'utf8' })
  return JSON.parse(out.trim().split('\n').at(-1) as string)
}

describe('generated readers', () => {
  test('with code generation from strings off, messages still load, parse and hash, with the same results', () => {
    const on = digests([])
    expect((on as unknown[]).length).toBe(7)
    expect(digests(['--disallow-code-generation-from-strings'])).toEqual(on)
  }, 60_000)
})
