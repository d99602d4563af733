import { describe, expect, test } from 'vitest'
import { parseCommandLine } from '../../../sim/cli-args.ts'
import { buildScenario, population, SimUsageError } from '../../../sim/scenarios.ts'

function codeOf (f: () => unknown): string | undefined {
  try { f() } catch (err) { return err instanceof SimUsageError ? err.code : String(err) }
  return undefined
}

describe('command line', () => {
  test('reads the scenario and its knobs; small runs sign with ECDSA, large ones fast', () => {
    const small = parseCommandLine(['cheating', '--nodes', '50', '--jobs', '100', '--seed', 'x', '--p', '0.3', '--k', '4'])
    expect(small).toMatchObject({ scenario: 'cheating', options: { nodes: 50, jobs: 100, seed: 'x', p: 0.3, k: 4, signatures: 'ecdsa' } })
    expect(parseCommandLine(['honest', '--jobs', '100000']).options.signatures).toBe('fast')
    expect(parseCommandLine(['honest', '--jobs', '10', '--signatures', 'fast']).options.signatures).toBe('fast')
  })

  test('the machines are stepped by their deciders unless the xstate engine is asked for', () => {
    expect(parseCommandLine(['honest']).options.engine).toBe('decider')
    expect(parseCommandLine(['honest', '--engine', 'xstate']).options.engine).toBe('xstate')
    expect(buildScenario('honest', { nodes: 10, jobs: 1, seed: '1', signatures: 'fast' }).engine).toBe('decider')
    expect(codeOf(() => parseCommandLine(['honest', '--engine', 'actors']))).toBe('BAD_OPTION')
  })

  test('bad input is one clear error with a stable code', () => {
    expect(codeOf(() => parseCommandLine([]))).toBe('UNKNOWN_SCENARIO')
    expect(codeOf(() => parseCommandLine(['honest', '--nodes', 'many']))).toBe('BAD_OPTION')
    expect(codeOf(() => parseCommandLine(['honest', '--p', '1.5']))).toBe('BAD_OPTION')
    expect(codeOf(() => parseCommandLine(['honest', '--signatures', 'none']))).toBe('BAD_OPTION')
    expect(codeOf(() => buildScenario('nonsense', { nodes: 10, jobs: 1, seed: '1', signatures: 'fast' }))).toBe('UNKNOWN_SCENARIO')
    expect(codeOf(() => population(3))).toBe('TOO_SMALL')
  })

  test('an option out of its range says what it must be', () => {
    const message = (argv: string[]): string => { try { parseCommandLine(argv) } catch (err) { return (err as Error).message } return '' }
    expect(message(['honest', '--p', '2'])).toBe('--p must be a share from 0 to 1, got "2"')
    expect(message(['honest', '--nodes', '2.5'])).toBe('--nodes must be a whole number above 0, got "2.5"')
    expect(message(['honest', '--jobs=-5'])).toBe('--jobs must be a whole number, 0 or more, got "-5"')
    expect(message(['honest', '--loss', '1'])).toBe('--loss must be a share from 0 up to (not including) 1, got "1"')
    expect(message(['honest', '--k', ''])).toBe('--k must be a number, 0 or more, got ""')
  })
})
