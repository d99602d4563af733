import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Command } from 'commander'
import { API_EXIT, CommandFailure, reportRun, type Write } from './node-api-flags.ts'

export interface KeyFlags {
  dataDir?: string
  passwordFile?: string
  json?: boolean
}

const stdout: Write = t => { process.stdout.write(t) }
const stderr: Write = t => { process.stderr.write(t) }

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

/** Reads a line from the terminal without echoing it. */
async function prompt (question: string): Promise<string> {
  const input = process.stdin
  process.stderr.write(question)
  input.setRawMode(true)
  input.resume()
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = ''
      const onData = (chunk: Buffer): void => {
        for (const char of chunk.toString('utf8')) {
          if (char === '\r' || char === '\n') { input.off('data', onData); process.stderr.write('\n'); resolve(typed); return }
          if (char === '\u0003') { input.off('data', onData); process.stderr.write('\n'); reject(new CommandFailure(API_EXIT.failed, 'CANCELLED', 'cancelled')); return }
          if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1)
          else typed += char
        }
      }
      input.on('data', onData)
    })
  } finally {
    input.setRawMode(false)
    input.pause()
  }
}

/** The password: --password-file, LILYPAD_KEY_PASSWORD_FILE or LILYPAD_KEY_PASSWORD, else asked at the terminal (twice for a new one). */
async function passwordOf (flags: KeyFlags, confirm: boolean): Promise<string> {
  const { keystorePassword } = await import('../../node/node-key.ts')
  const env = flags.passwordFile === undefined ? process.env : { ...process.env, LILYPAD_KEY_PASSWORD: '', LILYPAD_KEY_PASSWORD_FILE: flags.passwordFile }
  const given = await keystorePassword(env)
  if (given !== undefined) return given
  if (process.stdin.isTTY !== true) throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', 'give the keystore\'s password: --password-file <file> (or LILYPAD_KEY_PASSWORD_FILE, LILYPAD_KEY_PASSWORD)')
  const password = await prompt('keystore password: ')
  if (confirm && await prompt('again: ') !== password) throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', 'the two passwords differ')
  return password
}

async function dataDirOf (flags: KeyFlags): Promise<string> {
  const { defaultDataDir } = await import('../../node/settings.ts')
  return flags.dataDir ?? process.env.DATA_DIR ?? defaultDataDir()
}

/** Encrypts `privateKey` into the data directory's keystore (owner-only); returns its file. */
async function writeKeystore (dataDir: string, privateKey: string, password: string): Promise<{ file: string, address: string }> {
  if (password.length < 8) throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', 'a keystore\'s password has at least 8 characters')
  const [{ Wallet }, { KEYSTORE_FILE }] = await Promise.all([import('ethers'), import('../../node/node-key.ts')])
  const wallet = new Wallet(privateKey)
  const file = join(dataDir, KEYSTORE_FILE)
  await writeFile(file, await wallet.encrypt(password) + '\n', { mode: 0o600, flag: 'wx' })
  return { file, address: wallet.address }
}

async function refuseOverwrite (dataDir: string, also: string[] = []): Promise<void> {
  const { KEYSTORE_FILE, NODE_KEY_FILE } = await import('../../node/node-key.ts')
  for (const name of [KEYSTORE_FILE, NODE_KEY_FILE].filter(n => !also.includes(n))) {
    if (await exists(join(dataDir, name))) throw new CommandFailure(API_EXIT.failed, 'KEY_EXISTS', `${join(dataDir, name)} holds this node's key already: nothing is overwritten`)
  }
}

/** `lilypad key new`: a new node key, kept encrypted. */
export async function keyNew (flags: KeyFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('key new', flags, out, err, async () => {
    const dataDir = await dataDirOf(flags)
    await refuseOverwrite(dataDir)
    const { Wallet } = await import('ethers')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dataDir, { recursive: true })
    const { file, address } = await writeKeystore(dataDir, Wallet.createRandom().privateKey, await passwordOf(flags, true))
    return { json: { address, file }, text: `${address}\nkept encrypted in ${file}\n` }
  })
}

/**
 * `lilypad key import [file]`: a private key (hex) from a file, or the data directory's plain
 * node.key, kept encrypted; the plain node.key is then removed.
 */
export async function keyImport (from: string | undefined, flags: KeyFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('key import', flags, out, err, async () => {
    const dataDir = await dataDirOf(flags)
    const { NODE_KEY_FILE } = await import('../../node/node-key.ts')
    const plain = join(dataDir, NODE_KEY_FILE)
    const source = from ?? plain
    await refuseOverwrite(dataDir, from === undefined ? [NODE_KEY_FILE] : [])
    const text = await readFile(source, 'utf8').catch((e: Error) => { throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', `${source}: ${e.message}`) })
    const hex = text.trim().replace(/^0x/i, '')
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', `${source} does not hold a 32-byte hex private key`)
    const { file, address } = await writeKeystore(dataDir, `0x${hex}`, await passwordOf(flags, true))
    if (source === plain) await rm(plain)
    return { json: { address, file, removed: source === plain ? plain : null }, text: `${address}\nkept encrypted in ${file}${source === plain ? `; ${plain} removed` : ''}\n` }
  })
}

/** `lilypad key export`: the private key, in the clear, on stdout. */
export async function keyExport (flags: KeyFlags, out = stdout, err = stderr): Promise<number> {
  return await reportRun('key export', flags, out, err, async () => {
    const dataDir = await dataDirOf(flags)
    const { KEYSTORE_FILE, openKeystore } = await import('../../node/node-key.ts')
    const file = join(dataDir, KEYSTORE_FILE)
    if (!await exists(file)) throw new CommandFailure(API_EXIT.failed, 'NO_KEYSTORE', `${file} does not exist (lilypad key new or lilypad key import makes one)`)
    const wallet = await openKeystore(file, await passwordOf(flags, false)).catch((e: Error & { code?: string }) => {
      throw new CommandFailure(API_EXIT.failed, e.code ?? 'FAILED', e.message)
    })
    if (flags.json !== true) err('the private key follows, in the clear: anyone who sees it can spend from this account\n')
    return { json: { address: wallet.address, privateKey: wallet.privateKey }, text: `${wallet.privateKey}\n` }
  })
}

function withKeyFlags (command: Command): Command {
  return command
    .option('--data-dir <dir>', 'the node\'s data directory (DATA_DIR; default ~/.lilypad)')
    .option('--password-file <file>', 'a file whose first line is the keystore\'s password (LILYPAD_KEY_PASSWORD_FILE; else asked at the terminal)')
    .option('--json', 'print one JSON object (an error as { error, code })')
}

export function registerKey (program: Command): void {
  const key = program.command('key').description('the node\'s key, kept encrypted (an ethers/geth JSON keystore) in <data-dir>/keystore.json')
  withKeyFlags(key.command('new').description('make a new node key, kept encrypted'))
    .action(async (flags: KeyFlags) => { process.exitCode = await keyNew(flags) })
  withKeyFlags(key.command('import').description('keep a private key encrypted: from a file, or the plain node.key (then removed)').argument('[file]', 'a file holding the private key in hex'))
    .action(async (file: string | undefined, flags: KeyFlags) => { process.exitCode = await keyImport(file, flags) })
  withKeyFlags(key.command('export').description('print the private key in the clear'))
    .action(async (flags: KeyFlags) => { process.exitCode = await keyExport(flags) })
}
