import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { NodeApi, NodeApiError } from '../../client/node-api.ts'
import { defaultDevnetDir } from './devnet.ts'

/** How a command names the node it asks: `--node` and `--token`, or their environment variables. */
export interface NodeApiFlags {
  node?: string
  token?: string
  json?: boolean
}

/** Exit codes of the commands that ask a node: 0 it answered, 1 it refused or the job failed, 2 bad input, 5 no node answers. */
export const API_EXIT = { ok: 0, failed: 1, badInput: 2, noNode: 5 } as const

export type Write = (text: string) => void

/** A failure a command reports: its exit code and its code for `--json`. */
export class CommandFailure extends Error {
  constructor (readonly exit: number, readonly code: string, message: string) {
    super(message)
  }
}

/**
 * The node to ask: `--node`, LILYPAD_NODE_API, else the job-creator node of the devnet in the
 * default devnet folder, when there is one. The token: `--token` or LILYPAD_API_TOKEN.
 */
export async function nodeApiOf (flags: NodeApiFlags, env: NodeJS.ProcessEnv = process.env): Promise<NodeApi> {
  let base = flags.node ?? env.LILYPAD_NODE_API
  if (base === undefined || base === '') {
    const devnet = await readFile(join(resolve(defaultDevnetDir(env)), 'devnet.json'), 'utf8').then(t => JSON.parse(t) as { jobCreatorApi?: string }, () => undefined)
    base = devnet?.jobCreatorApi
  }
  if (base === undefined || base === '') throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', 'name the node\'s API with --node <url> or LILYPAD_NODE_API (a node serves it with --api-port)')
  try {
    return new NodeApi(base, flags.token ?? env.LILYPAD_API_TOKEN)
  } catch (err) {
    throw new CommandFailure(API_EXIT.badInput, 'BAD_INPUT', (err as Error).message)
  }
}

/**
 * Runs a command's body and reports how it ended: with `--json`, one JSON object on stdout (what the
 * body returns, or `{ error, code }`); a failure also as one line on stderr. Returns the exit code.
 */
export async function reportRun (name: string, flags: NodeApiFlags, out: Write, err: Write, body: () => Promise<{ json: unknown, text: string }>): Promise<number> {
  try {
    const { json, text } = await body()
    out(flags.json === true ? JSON.stringify(json) + '\n' : text)
    return API_EXIT.ok
  } catch (e) {
    const failure = asFailure(e)
    if (flags.json === true) out(JSON.stringify({ error: failure.message, code: failure.code }) + '\n')
    err(`lilypad ${name}: ${failure.message}\n`)
    return failure.exit
  }
}

function asFailure (e: unknown): CommandFailure {
  if (e instanceof CommandFailure) return e
  if (e instanceof NodeApiError) {
    if (e.status === 0) return new CommandFailure(API_EXIT.noNode, 'NO_NODE', e.message)
    if (e.status === 400) return new CommandFailure(API_EXIT.badInput, e.code ?? 'BAD_INPUT', e.message)
    return new CommandFailure(API_EXIT.failed, e.code ?? (e.status === 404 ? 'NOT_FOUND' : e.status === 401 ? 'UNAUTHORIZED' : 'REFUSED'), e.message)
  }
  return new CommandFailure(API_EXIT.failed, (e as { code?: string }).code ?? 'FAILED', (e as Error).message.split('\n')[0]!)
}
