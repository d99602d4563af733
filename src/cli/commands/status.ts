import type { Command } from 'commander'

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
  deals: Array<{ role: string, jobOfferId: string, dealId: string | null, state: string, resultsCid: string | null }>
}

type Write = (text: string) => void

/** Exit codes: 0 the node answered, 2 bad input, 5 no node answers. */
export const STATUS_EXIT = { ok: 0, badInput: 2, noNode: 5 } as const

/** `lilypad status`: what a running node is: its identity, its peers, its log, its deals by state. */
export async function statusCommand (flags: { node?: string, json?: boolean }, out: Write = t => { process.stdout.write(t) }, err: Write = t => { process.stderr.write(t) }): Promise<number> {
  const api = flags.node ?? process.env.LILYPAD_NODE_API
  if (api === undefined || api === '') {
    err('lilypad status: name the node\'s API with --node <url> or LILYPAD_NODE_API (a node serves it with --api-port)\n')
    return STATUS_EXIT.badInput
  }
  let url: URL
  try {
    url = new URL('/status', api)
  } catch {
    err(`lilypad status: ${api} is not a URL\n`)
    return STATUS_EXIT.badInput
  }
  let status: NodeStatusView
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
    if (!response.ok) throw new Error(`it answered ${response.status}`)
    status = await response.json() as NodeStatusView
  } catch (e) {
    err(`lilypad status: no node answers at ${api}: ${(e as Error).message}\n`)
    return STATUS_EXIT.noNode
  }
  out(flags.json === true ? JSON.stringify(status) + '\n' : describe(status))
  return STATUS_EXIT.ok
}

function describe (s: NodeStatusView): string {
  const byState = new Map<string, number>()
  for (const d of s.deals) byState.set(`${d.role} ${d.state}`, (byState.get(`${d.role} ${d.state}`) ?? 0) + 1)
  return [
    `node ${s.address} (${s.roles.join(', ')}), peer ${s.peerId}`,
    `  listening on ${s.multiaddrs.join(' ') || '-'}; ${s.peers} peer(s) connected`,
    `  log: ${s.logRecords} records, ${s.streams} stream(s), ${s.pendingOutputs} output(s) being carried out`,
    `  deals: ${s.deals.length === 0 ? 'none' : [...byState].sort().map(([k, n]) => `${n} ${k}`).join(', ')}`,
    ...s.deals.filter(d => d.dealId !== null).map(d => `    ${d.dealId}  ${d.role.padEnd(17)} ${d.state}${d.resultsCid === null ? '' : `  ${d.resultsCid}`}`),
    ''
  ].join('\n')
}

export function registerStatus (program: Command): void {
  program.command('status')
    .description('show a running node: its identity, peers, log and deals by state (from its local API)')
    .option('--node <api-url>', 'the node\'s API, e.g. http://127.0.0.1:8080 (LILYPAD_NODE_API)')
    .option('--json', 'print the node\'s status as JSON')
    .action(async (flags: { node?: string, json?: boolean }) => {
      process.exitCode = await statusCommand(flags)
    })
}
