import type { IncomingMessage } from 'node:http'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { refusal, type ApiAccess } from '../../../../src/node/server/access.ts'
import { apiToken } from '../../../../src/node/server/api-token.ts'

const request = (host: string | undefined, authorization?: string): IncomingMessage =>
  ({ headers: { ...(host === undefined ? {} : { host }), ...(authorization === undefined ? {} : { authorization }) } }) as IncomingMessage

describe('who the API answers', () => {
  test('on loopback: requests that name it, with no token; a page that rebinds another name is refused', () => {
    const loopback: ApiAccess = { host: '127.0.0.1' }
    for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'LOCALHOST']) expect(refusal(request(host), '/status', loopback)).toBeNull()
    for (const host of ['evil.example:8080', '10.0.0.5', undefined, '']) expect(refusal(request(host), '/status', loopback)).toMatchObject({ status: 403 })
  })

  test('beyond loopback: every path but the open ones needs the bearer token, compared whole', () => {
    const token = 'a'.repeat(64)
    const open: ApiAccess = { host: '0.0.0.0', token }
    expect(refusal(request('node.example:8080'), '/status', open)).toMatchObject({ status: 401 })
    expect(refusal(request('node.example:8080', `Bearer ${'a'.repeat(63)}`), '/status', open)).toMatchObject({ status: 401 })
    expect(refusal(request('node.example:8080', `Bearer ${'b'.repeat(64)}`), '/jobs', open)).toMatchObject({ status: 401 })
    expect(refusal(request('node.example:8080', `Basic ${token}`), '/jobs', open)).toMatchObject({ status: 401 })
    expect(refusal(request('node.example:8080', `Bearer ${token}`), '/jobs', open)).toBeNull()
    for (const path of ['/health', '/openapi.json', '/dashboard', '/dashboard/app.js']) expect(refusal(request('node.example'), path, open)).toBeNull()
  })

  test('a named address or names given: other Host names are refused even with the token', () => {
    const token = 'c'.repeat(64)
    const named: ApiAccess = { host: '10.1.2.3', token, hostNames: ['node.example'] }
    expect(refusal(request('10.1.2.3:9000', `Bearer ${token}`), '/status', named)).toBeNull()
    expect(refusal(request('node.example', `Bearer ${token}`), '/status', named)).toBeNull()
    expect(refusal(request('other.example', `Bearer ${token}`), '/status', named)).toMatchObject({ status: 403 })
  })
})

describe('the API token', () => {
  test('is made once, readable by the node\'s user only, and read back after', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'api-token-'))
    const first = await apiToken(dir)
    expect(first.created).toBe(true)
    expect(first.token).toMatch(/^[0-9a-f]{64}$/)
    expect((await stat(first.file)).mode & 0o777).toBe(0o600)
    expect(await apiToken(dir)).toEqual({ ...first, created: false })
    expect((await readFile(first.file, 'utf8')).trim()).toBe(first.token)
  })

  test('a file that holds no token is named, not overwritten', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'api-token-'))
    await writeFile(join(dir, 'api-token'), 'not a token\n')
    await expect(apiToken(dir)).rejects.toThrow(/api-token does not hold a token/)
  })
})
