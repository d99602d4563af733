import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * The API's bearer token, kept in `<dataDir>/api-token` (readable by the node's user only). Made on
 * first need; `created` says whether it was made now, so that it is shown once.
 */
export async function apiToken (dataDir: string): Promise<{ token: string, file: string, created: boolean }> {
  const file = join(dataDir, 'api-token')
  const kept = await readFile(file, 'utf8').then(text => text.trim(), (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (kept !== undefined && /^[0-9a-f]{64}$/.test(kept)) return { token: kept, file, created: false }
  if (kept !== undefined) throw new Error(`${file} does not hold a token (64 hex digits): remove it and a new one is made`)
  const token = randomBytes(32).toString('hex')
  await writeFile(file, token + '\n', { mode: 0o600, flag: 'wx' })
  return { token, file, created: true }
}
