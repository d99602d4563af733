import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { keyExport, keyImport, keyNew } from '../../../src/cli/commands/key.ts'
import { loadNodeKey } from '../../../src/node/node-key.ts'
import { useTempDirs } from '../../support/temp-dir.ts'

const tempDir = useTempDirs()

async function key (command: (out: (t: string) => void, err: (t: string) => void) => Promise<number>): Promise<{ code: number, json: Record<string, unknown> }> {
  let out = ''
  const code = await command(t => { out += t }, () => {})
  return { code, json: JSON.parse(out) as Record<string, unknown> }
}

describe('an encrypted node key', () => {
  test('imported from the plain node.key, which goes; the node opens it with its password file, and a wrong password is refused', async () => {
    const dataDir = await tempDir()
    const plain = await loadNodeKey(dataDir, {})
    const passwordFile = join(await tempDir(), 'password')
    await writeFile(passwordFile, 'correct horse battery\n', { mode: 0o600 })
    const imported = await key((o, e) => keyImport(undefined, { dataDir, passwordFile, json: true }, o, e))
    expect(imported).toMatchObject({ code: 0, json: { address: plain.address, removed: join(dataDir, 'node.key') } })
    await expect(stat(join(dataDir, 'node.key'))).rejects.toThrow()
    expect(((await stat(join(dataDir, 'keystore.json'))).mode & 0o777)).toBe(0o600)

    const opened = await loadNodeKey(dataDir, { LILYPAD_KEY_PASSWORD_FILE: passwordFile })
    expect(opened).toMatchObject({ address: plain.address, privateKey: plain.privateKey, source: 'keystore' })
    await expect(loadNodeKey(dataDir, {})).rejects.toMatchObject({ code: 'ERR_KEY_PASSWORD', message: expect.stringContaining('is encrypted: give its password') })
    await expect(loadNodeKey(dataDir, { LILYPAD_KEY_PASSWORD: 'wrong password' })).rejects.toMatchObject({ code: 'ERR_KEY_PASSWORD', message: expect.stringContaining('the password does not open') })

    expect(await key((o, e) => keyExport({ dataDir, passwordFile, json: true }, o, e))).toMatchObject({ code: 0, json: { address: plain.address, privateKey: plain.privateKey } })
    // nothing is overwritten
    expect(await key((o, e) => keyNew({ dataDir, passwordFile, json: true }, o, e))).toMatchObject({ code: 1, json: { code: 'KEY_EXISTS' } })
  }, 60_000)

  test('a new one needs a password of 8 characters or more, and no terminal means a password file', async () => {
    const dataDir = await tempDir()
    const short = join(dataDir, 'short')
    await writeFile(short, 'abc\n')
    expect(await key((o, e) => keyNew({ dataDir, passwordFile: short, json: true }, o, e))).toMatchObject({ code: 2, json: { code: 'BAD_INPUT' } })
    const saved = { ...process.env }
    delete process.env.LILYPAD_KEY_PASSWORD
    delete process.env.LILYPAD_KEY_PASSWORD_FILE
    try {
      expect(await key((o, e) => keyExport({ dataDir, json: true }, o, e))).toMatchObject({ code: 1, json: { code: 'NO_KEYSTORE' } })
    } finally {
      Object.assign(process.env, saved)
    }
  }, 60_000)
})
