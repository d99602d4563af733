import { describe, expect, it } from 'vitest'
import { ESLint } from 'eslint'
import { repoRoot } from '../support/child.ts'

// The machines and messages must stay pure (DESIGN §2): the ESLint config bans I/O there.
describe('pure layers', () => {
  const eslint = new ESLint({ cwd: repoRoot })

  it('src/state-machines and src/protocols/messages pass the purity rules', async () => {
    const results = await eslint.lintFiles(['src/state-machines/**/*.ts', 'src/protocols/messages/**/*.ts'])
    const impure = results.flatMap(r => r.messages
      .filter(m => m.ruleId?.startsWith('no-restricted-') === true)
      .map(m => `${r.filePath}:${m.line}: ${m.message}`))
    expect(impure).toEqual([])
    expect(results.length).toBeGreaterThan(0)
  })

  it.each([
    ["import { readFile } from 'node:fs/promises'", 'node:fs/promises'],
    ["import { Level } from 'level'", 'level'],
    ["import { EventLog } from '../actors/eventlog/event-log.ts'", 'actors'],
    ['export const now = () => Date.now()', 'Date'],
    ['export const roll = () => Math.random()', 'Math.random']
  ])('flags %s inside src/state-machines', async (code, what) => {
    const [result] = await eslint.lintText(code + '\n', { filePath: `${repoRoot}src/state-machines/impure-example.ts` })
    const messages = result!.messages.filter(m => m.ruleId?.startsWith('no-restricted-') === true)
    expect(messages.length, `${what} must be refused`).toBeGreaterThan(0)
  })
})
