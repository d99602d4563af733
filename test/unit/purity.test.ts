import { describe, expect, it } from 'vitest'
import { ESLint } from 'eslint'
import { repoRoot } from '../support/child.ts'

/**
 * The project's ESLint config without its type-aware rules: these tests lint the import rules of
 * probe files that no tsconfig includes, and type information would only slow them.
 */
function linter (): ESLint {
  return new ESLint({
    cwd: repoRoot,
    overrideConfig: {
      languageOptions: { parserOptions: { projectService: false } },
      rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' }
    }
  })
}

// The machines and messages must stay pure (DESIGN §2): the ESLint config bans I/O there.
describe('pure layers', () => {
  const eslint = linter()

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

// DESIGN §3's import table: nothing imports upward, and sim/ sees machines and messages only.
describe('the layers of DESIGN §3', () => {
  const eslint = linter()
  const restricted = async (code: string, filePath: string): Promise<string[]> => {
    const [result] = await eslint.lintText(code + '\n', { filePath: `${repoRoot}${filePath}` })
    return result!.messages.filter(m => m.ruleId === 'no-restricted-imports').map(m => m.message)
  }

  it('every file of src/ and sim/ keeps to the table', async () => {
    const results = await eslint.lintFiles(['src/**/*.ts', 'sim/**/*.ts'])
    const upward = results.flatMap(r => r.messages.filter(m => m.ruleId === 'no-restricted-imports').map(m => `${r.filePath}:${m.line}: ${m.message}`))
    expect(upward).toEqual([])
  })

  it.each([
    ['src/executor/example.ts', "import { Runtime } from '../actors/runtime/runtime.ts'"],
    ['src/executor/example.ts', "import { SettlementClient } from '../settlement/client.ts'"],
    ['src/settlement/example.ts', "import { ModuleRunner } from '../executor/index.ts'"],
    ['src/protocols/messages/example.ts', "import { createMesh } from '../mesh/node.ts'"],
    ['src/protocols/mesh/example.ts', "import { step } from '../../state-machines/step.ts'"],
    ['src/actors/example.ts', "import { startNode } from '../node/node.ts'"],
    ['src/node/example.ts', "import { main } from '../cli/main.ts'"],
    ['src/state-machines/example.ts', "import { World } from '../../sim/world.ts'"],
    ['sim/example.ts', "import { EventLog } from '../src/actors/eventlog/event-log.ts'"]
  ])('refuses, in %s: %s', async (file, code) => {
    expect(await restricted(code, file)).toHaveLength(1)
  })

  it.each([
    ['src/actors/example.ts', "import { ModuleRunner } from '../executor/index.ts'"],
    ['src/settlement/example.ts', "import { settle } from '../state-machines/settle.ts'"],
    ['src/protocols/mesh/example.ts', "import { schemas } from '../messages/schemas.ts'"],
    ['sim/example.ts', "import { step } from '../src/state-machines/step.ts'"]
  ])('allows, in %s: %s', async (file, code) => {
    expect(await restricted(code, file)).toEqual([])
  })
})
