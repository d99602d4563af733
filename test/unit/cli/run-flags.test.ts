import { afterEach, describe, expect, test, vi } from 'vitest'
import { RUN_EXIT, runCommand } from '../../../src/cli/commands/run.ts'

afterEach(() => { vi.unstubAllEnvs() })

async function refusal (flags: Record<string, unknown>): Promise<{ code: number, stderr: string }> {
  let stderr = ''
  const code = await runCommand('cowsay:v0.0.1', { network: 'devnet', input: [], ...flags } as never, () => true, (t) => { stderr += t; return true })
  return { code, stderr }
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
})
