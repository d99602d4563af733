import { describe, expect, test } from 'vitest'
import { lilypad } from '../../e2e/network/cli.ts'

describe('usage errors and completion', () => {
  test('every usage error exits 2; with --json it is also one object on stdout; help exits 0', async () => {
    const [unknownCommand, unknownOption, missingArgument, jsonMissing, help, nothing] = await Promise.all([
      lilypad(['nosuchcommand']),
      lilypad(['jobs', 'list', '--bogus']),
      lilypad(['jobs', 'describe']),
      lilypad(['jobs', 'describe', '--json']),
      lilypad(['jobs', '--help']),
      lilypad([])
    ])
    for (const run of [unknownCommand, unknownOption, missingArgument, jsonMissing, nothing]) expect(run.code).toBe(2)
    expect(unknownOption.stderr).toMatch(/unknown option '--bogus'/)
    expect(JSON.parse(jsonMissing.stdout)).toEqual({ error: expect.stringMatching(/missing required argument 'id'/), code: 'USAGE' })
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/list.*\n.*describe/s)
  }, 60_000)

  test('completion scripts name the commands and their options, for bash and zsh', async () => {
    const [bash, zsh, other] = await Promise.all([lilypad(['completion', 'bash']), lilypad(['completion', 'zsh']), lilypad(['completion', 'fish'])])
    expect(bash.code).toBe(0)
    expect(bash.stdout).toContain('complete -o default -F _lilypad_complete lilypad')
    expect(bash.stdout).toMatch(/"jobs"\) words="list describe logs get cancel --help"/)
    expect(bash.stdout).toMatch(/"jobs get"\) words="--node --token --json --out --max-bytes --help"/)
    expect(zsh.stdout.startsWith('#compdef lilypad\n')).toBe(true)
    expect(other.code).toBe(2)
  }, 60_000)
})
