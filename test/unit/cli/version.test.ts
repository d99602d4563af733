import { readFile } from 'node:fs/promises'
import { describe, expect, test } from 'vitest'
import { lilypad } from '../../e2e/network/cli.ts'

describe('lilypad --version', () => {
  test('prints the package\'s version and exits 0', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
    for (const flag of ['--version', '-V']) expect(await lilypad([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' })
  }, 60_000)
})
