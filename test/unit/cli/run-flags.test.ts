import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { RUN_EXIT, runCommand } from '../../../src/cli/commands/run.ts'

afterEach(() => { vi.unstubAllEnvs() })

async function refusal (flags: Record<string, unknown>): Promise<{ code: number, stderr: string }> {
  const { code, stderr } = await run(flags)
  return { code, stderr }
}

async function run (flags: Record<string, unknown>): Promise<{ code: number, stdout: string, stderr: string }> {
  let stdout = ''
  let stderr = ''
  const code = await runCommand('cowsay:v0.0.1', { network: 'devnet', input: [], ...flags } as never, (t) => { stdout += t; return true }, (t) => { stderr += t; return true })
  return { code, stdout, stderr }
}

describe('lilypad run flags', () => {
  test('--mediation-chance is a percentage, as Lilypad takes it: above 100 is refused in one line', async () => {
    expect(await refusal({ mediationChance: '101' })).toEqual({ code: RUN_EXIT.badInput, stderr: 'lilypad run: --mediation-chance is a percentage, from 0 to 100, not 101\n' })
    expect(await refusal({ mediationChance: 'half' })).toMatchObject({ code: RUN_EXIT.badInput })
  })

  test('MEDIATION_CHANCE stands in for the flag', async () => {
    vi.stubEnv('MEDIATION_CHANCE', '150')
    expect(await refusal({})).toEqual({ code: RUN_EXIT.badInput, stderr: 'lilypad run: --mediation-chance is a percentage, from 0 to 100, not 150\n' })
  })

  test('with --json, a refusal is one JSON object on stdout too, as every ending is', async () => {
    const r = await run({ mediationChance: '101', json: true })
    expect(r.code).toBe(RUN_EXIT.badInput)
    expect(JSON.parse(r.stdout)).toEqual({ error: '--mediation-chance is a percentage, from 0 to 100, not 101', code: 'BAD_INPUT' })
    vi.stubEnv('LILYPAD_NODE_API', '')
    const dataDir = await mkdtemp(join(tmpdir(), 'run-flags-'))
    vi.stubEnv('DATA_DIR', dataDir)
    const elsewhere = await run({ network: 'mainnet', json: true })
    expect(elsewhere.code).toBe(RUN_EXIT.noNetwork)
    expect(JSON.parse(elsewhere.stdout)).toEqual({ error: `no network mainnet is known here: devnet, or a preset in ${join(dataDir, 'networks')} (lilypad contracts deploy writes one)`, code: 'NO_PEERS' })
  })
})
