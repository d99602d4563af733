import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Wallet, hexlify, randomBytes } from 'ethers'
import type { LogSigner } from '../actors/eventlog/checkpoint.ts'
import { signDigest } from '../protocols/messages/sign-digest.ts'

export const NODE_KEY_FILE = 'node.key'
/** the node key encrypted with a password: ethers' JSON keystore (scrypt, AES-128-CTR), as geth writes it */
export const KEYSTORE_FILE = 'keystore.json'

export class NodeKeyError extends Error {
  override readonly name = 'NodeKeyError'
  constructor (readonly code: 'ERR_KEY_INVALID' | 'ERR_KEY_PERMISSIONS' | 'ERR_KEY_PASSWORD', message: string) {
    super(message)
  }
}

export interface NodeKey {
  /** 0x-prefixed 32-byte secp256k1 private key: the node's Ethereum account and libp2p identity */
  privateKey: string
  address: string
  source: 'env' | 'file' | 'keystore' | 'generated'
  signer: LogSigner
}

function parseKey (text: string, where: string): Wallet {
  const hex = text.trim().replace(/^0x/i, '')
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new NodeKeyError('ERR_KEY_INVALID', `${where} is not a 32-byte hex private key`)
  }
  try {
    return new Wallet(`0x${hex}`)
  } catch {
    throw new NodeKeyError('ERR_KEY_INVALID', `${where} is not a valid secp256k1 private key`)
  }
}

function toNodeKey (wallet: Wallet, source: NodeKey['source']): NodeKey {
  return {
    privateKey: wallet.privateKey,
    address: wallet.address,
    source,
    signer: { address: wallet.address, signDigest: (digest) => signDigest(wallet.signingKey, digest) }
  }
}

/**
 * The password of a keystore: `LILYPAD_KEY_PASSWORD`, or the first line of the file
 * `LILYPAD_KEY_PASSWORD_FILE` names (a daemon has no one to ask).
 */
export async function keystorePassword (env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (env.LILYPAD_KEY_PASSWORD !== undefined && env.LILYPAD_KEY_PASSWORD !== '') return env.LILYPAD_KEY_PASSWORD
  const file = env.LILYPAD_KEY_PASSWORD_FILE
  if (file === undefined || file === '') return undefined
  const text = await readFile(file, 'utf8').catch((err: Error) => { throw new NodeKeyError('ERR_KEY_PASSWORD', `LILYPAD_KEY_PASSWORD_FILE: ${err.message}`) })
  return text.split(/\r?\n/)[0]!
}

/** Decrypts a keystore; a wrong password is one line that says so. */
export async function openKeystore (path: string, password: string): Promise<Wallet> {
  const json = await readFile(path, 'utf8')
  try {
    return await Wallet.fromEncryptedJson(json, password) as Wallet
  } catch (err) {
    const message = (err as Error).message
    throw new NodeKeyError(/password/i.test(message) ? 'ERR_KEY_PASSWORD' : 'ERR_KEY_INVALID', /password/i.test(message) ? `the password does not open ${path}` : `${path} is not a keystore: ${message.split('\n')[0]}`)
  }
}

/**
 * The node key: `WEB3_PRIVATE_KEY` when set; else `<dataDir>/keystore.json`, opened with its
 * password (keystorePassword); else `<dataDir>/node.key`, generated on first start with owner-only
 * permissions. A key file others can read is refused, as ssh does.
 */
export async function loadNodeKey (dataDir: string, env: NodeJS.ProcessEnv = process.env): Promise<NodeKey> {
  const fromEnv = env.WEB3_PRIVATE_KEY
  if (fromEnv !== undefined && fromEnv.trim() !== '') return toNodeKey(parseKey(fromEnv, 'WEB3_PRIVATE_KEY'), 'env')

  const keystore = join(dataDir, KEYSTORE_FILE)
  if (await stat(keystore).then(() => true, () => false)) {
    const password = await keystorePassword(env)
    if (password === undefined) throw new NodeKeyError('ERR_KEY_PASSWORD', `${keystore} is encrypted: give its password in LILYPAD_KEY_PASSWORD_FILE (a file readable by the node only) or LILYPAD_KEY_PASSWORD`)
    return toNodeKey(await openKeystore(keystore, password), 'keystore')
  }

  const path = join(dataDir, NODE_KEY_FILE)
  const existing = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (existing !== undefined) {
    if ((existing.mode & 0o077) !== 0) {
      throw new NodeKeyError('ERR_KEY_PERMISSIONS',
        `${path} is readable by others (mode ${(existing.mode & 0o777).toString(8)}); run: chmod 600 ${path}`)
    }
    return toNodeKey(parseKey(await readFile(path, 'utf8'), path), 'file')
  }

  await mkdir(dataDir, { recursive: true })
  const wallet = new Wallet(hexlify(randomBytes(32)))
  const partial = `${path}.${process.pid}.tmp`
  await writeFile(partial, `${wallet.privateKey}\n`, { mode: 0o600, flag: 'wx' })
  await chmod(partial, 0o600)
  await rename(partial, path)
  return toNodeKey(wallet, 'generated')
}
