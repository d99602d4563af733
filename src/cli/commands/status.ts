import type { Command } from 'commander'
import { NodeApiError } from '../../client/node-api.ts'
import { CommandFailure, nodeApiOf, reportRun, type NodeApiFlags } from './node-api-flags.ts'

/** What a node's `GET /status` answers (src/node/server/http-server.ts). */
interface NodeStatusView {
  address: string
  peerId: string
  roles: string[]
  multiaddrs: string[]
  peers: number
  streams: number
  logRecords: number
  pendingOutputs: number
  offers?: Record<string, { own: number, others: number }>
  balances?: { deposit: string | null, tokens: string | null, withdrawing: string | null } | null
  deals: Array<{ role: string, jobOfferId: string, dealId: string | null, state: string, resultsCid: string | null }>
}

type Write = (text: string) => void

/** Exit codes: 0 the node answered, 2 bad input, 5 no node answers. */
export const STATUS_EXIT = { ok: 0, badInput: 2, noNode: 5 } as const

/** `lilypad status`: what a running node is: its identity, peers, offers, balances, its log, its deals by state. */
export async function statusCommand (flags: NodeApiFlags, out: Write = t => { process.stdout.write(t) }, err: Write = t => { process.stderr.write(t) }): Promise<number> {
  const api = flags.node ?? process.env.LILYPAD_NODE_API
  if (api === undefined || api === '') {
    return await reportRun('status', flags, out, err, async () => { throw new CommandFailure(STATUS_EXIT.badInput, 'BAD_INPUT', 'name the node\'s API with --node <url> or LILYPAD_NODE_API (a node serves it with --api-port)') })
  }
  return await reportRun('status', flags, out, err, async () => {
    const status = await (await nodeApiOf({ ...flags, node: api })).status().catch((e: Error) => {
      throw e instanceof NodeApiError && e.status !== 0 ? new NodeApiError(0, `no node answers at ${api}: it answered ${e.status}`) : e
    }) as unknown as NodeStatusView
    return { json: status, text: describe(status) }
  })
}

function describe (s: NodeStatusView): string {
  const byState = new Map<string, number>()
  for (const d of s.deals) byState.set(`${d.role} ${d.state}`, (byState.get(`${d.role} ${d.state}`) ?? 0) + 1)
  return [
    `node ${s.address} (${s.roles.join(', ')}), peer ${s.peerId}`,
    `  listening on ${s.multiaddrs.join(' ') || '-'}; ${s.peers} peer(s) connected`,
    `  log: ${s.logRecords} records, ${s.streams} stream(s), ${s.pendingOutputs} output(s) being carried out`,
    ...(s.offers === undefined ? [] : [`  offers held: ${Object.entries(s.offers).map(([topic, n]) => `${topic} ${n.own} own, ${n.others} others'`).join('; ') || 'none'}`]),
    ...(s.balances == null ? [] : [`  escrow deposit ${s.balances.deposit ?? '?'} wei (${s.balances.withdrawing ?? '?'} leaving), tokens ${s.balances.tokens ?? '?'} wei`]),
    `  deals: ${s.deals.length === 0 ? 'none' : [...byState].sort().map(([k, n]) => `${n} ${k}`).join(', ')}`,
    ...s.deals.filter(d => d.dealId !== null).map(d => `    ${d.dealId}  ${d.role.padEnd(17)} ${d.state}${d.resultsCid === null ? '' : `  ${d.resultsCid}`}`),
    ''
  ].join('\n')
}

export function registerStatus (program: Command): void {
  program.command('status')
    .description('show a running node: its identity, peers, log and deals by state (from its local API)')
    .option('--node <api-url>', 'the node\'s API, e.g. http://127.0.0.1:8080 (LILYPAD_NODE_API)')
    .option('--token <token>', 'the node\'s API token, when it listens beyond 127.0.0.1 (LILYPAD_API_TOKEN)')
    .option('--json', 'print the node\'s status as JSON (an error as { error, code })')
    .action(async (flags: NodeApiFlags) => {
      process.exitCode = await statusCommand(flags)
    })
}
