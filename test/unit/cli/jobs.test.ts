import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { jobsCancel, jobsList } from '../../../src/cli/commands/jobs.ts'
import { API_EXIT } from '../../../src/cli/commands/node-api-flags.ts'

afterEach(() => { vi.unstubAllEnvs() })

async function capture (run: (out: (t: string) => void, err: (t: string) => void) => Promise<number>): Promise<{ code: number, out: string, err: string }> {
  let out = ''
  let err = ''
  const code = await run(t => { out += t }, t => { err += t })
  return { code, out, err }
}

describe('lilypad jobs, when it cannot ask a node', () => {
  test('no node answers: exit 5, one line, and with --json one error object', async () => {
    const gone = await capture((out, err) => jobsList({ node: 'http://127.0.0.1:1', json: true }, out, err))
    expect(gone.code).toBe(API_EXIT.noNode)
    expect(JSON.parse(gone.out)).toEqual({ error: expect.stringMatching(/^no node answers at http:\/\/127\.0\.0\.1:1/), code: 'NO_NODE' })
    expect(gone.err).toMatch(/^lilypad jobs list: no node answers at .+\n$/)
  })

  test('no node named and no devnet: exit 2, saying how to name one', async () => {
    vi.stubEnv('LILYPAD_NODE_API', '')
    vi.stubEnv('LILYPAD_DEVNET_DIR', await mkdtemp(join(tmpdir(), 'no-devnet-')))
    const unnamed = await capture((out, err) => jobsCancel('abc', {}, out, err))
    expect(unnamed.code).toBe(API_EXIT.badInput)
    expect(unnamed.err).toBe('lilypad jobs cancel: name the node\'s API with --node <url> or LILYPAD_NODE_API (a node serves it with --api-port)\n')
    expect(unnamed.out).toBe('')
  })
})
