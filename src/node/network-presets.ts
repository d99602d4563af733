import { readFileSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'

/**
 * A network a node joins by name (`--network <name>`): its chain and contracts, and the peers,
 * solvers and mediators to start from. Kept as `<DATA_DIR>/networks/<name>.json`, written by
 * `lilypad contracts deploy` or by hand; a name with no preset is only a gossip topic name, as on a
 * devnet.
 */
export interface NetworkPreset {
  name: string
  chainId: string
  rpcUrl: string
  settlement: string
  token?: string
  /** LilypadJobs, through which contracts ask for jobs, where the network has it */
  onchainJobs?: string
  /** block of the settlement contract's creation */
  deployBlock?: number
  bootstrap: string[]
  solvers: string[]
  mediators: string[]
}

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, { error: 'must be a 0x address' })

const presetSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, { error: 'must be lower-case letters, digits and dashes' }),
  chainId: z.string().regex(/^[0-9]{1,20}$/, { error: 'must be a decimal chain id' }),
  rpcUrl: z.url({ protocol: /^(https?|wss?)$/, error: 'must be an http(s) or ws(s) URL' }),
  settlement: address,
  token: address.optional(),
  onchainJobs: address.optional(),
  deployBlock: z.number().int().nonnegative().optional(),
  bootstrap: z.array(z.string()).default([]),
  solvers: z.array(address).default([]),
  mediators: z.array(address).default([])
})

export class PresetError extends Error {
  override readonly name = 'PresetError'
}

/** Where a network's preset is kept. */
export function presetFile (dataDir: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new PresetError(`a network name is lower-case letters, digits and dashes, not ${JSON.stringify(name)}`)
  return join(dataDir, 'networks', `${name}.json`)
}

/** The preset of network `name`, or undefined when there is none (a bad one is an error that names the file and the field). */
export function loadPreset (dataDir: string, name: string): NetworkPreset | undefined {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) return undefined
  const file = presetFile(dataDir, name)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new PresetError(`${file} is not JSON`)
  }
  const parsed = presetSchema.safeParse(json)
  if (!parsed.success) {
    // a misspelt key is named first: the field it was meant to be is then missing too
    const issue = parsed.error.issues.find(i => i.code === 'unrecognized_keys') ?? parsed.error.issues[0]!
    throw new PresetError(`${file}: ${issue.code === 'unrecognized_keys' ? `unknown key ${JSON.stringify(issue.keys[0])}` : `${issue.path.join('.') || 'it'} ${issue.message}`}`)
  }
  if (parsed.data.name !== name) throw new PresetError(`${file} is the preset of network ${JSON.stringify(parsed.data.name)}, not ${JSON.stringify(name)}`)
  return parsed.data
}

/** Writes a preset whole or not at all. */
export async function writePreset (dataDir: string, preset: NetworkPreset): Promise<string> {
  const file = presetFile(dataDir, preset.name)
  await mkdir(join(dataDir, 'networks'), { recursive: true })
  await writeFile(`${file}.tmp`, JSON.stringify(preset, null, 2) + '\n')
  await rename(`${file}.tmp`, file)
  return file
}
