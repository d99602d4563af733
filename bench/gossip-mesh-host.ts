// A worker thread that hosts some of the gossip bench's mesh nodes, each a real libp2p node on
// 127.0.0.1, and answers the bench's commands (bench/gossip.ts). Times are absolute
// (timeOrigin + now, in ms) so that threads can be compared.
import '../src/polyfills.ts'
import { parentPort } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'
import type { Envelope } from '../src/protocols/messages/index.ts'
import { createMeshNode, gossipTopic, type MeshNode } from '../src/protocols/mesh/index.ts'
import { domain, NETWORK, wallet } from '../test/unit/protocols/mesh/fixtures.ts'

export type HostCommand =
  /** node i's key is wallet(keyBase + i) */
  | { cmd: 'start', indices: number[], keyBase: number }
  | { cmd: 'dial', links: Array<[from: number, to: string]> }
  | { cmd: 'meshSizes' }
  | { cmd: 'publish', index: number, envelope: Envelope }
  | { cmd: 'stop' }

export type HostEvent =
  | { event: 'reply', cmd: HostCommand['cmd'], value: unknown }
  | { event: 'delivered', id: string, at: number }
  | { event: 'error', message: string }

const port = parentPort
if (port === null) throw new Error('gossip-mesh-host runs as a worker thread')

const nodes = new Map<number, MeshNode>()
const topic = gossipTopic(NETWORK, 'resource-offers')
const clock = (): number => performance.timeOrigin + performance.now()

function reply (cmd: HostCommand['cmd'], value: unknown = null): void {
  port!.postMessage({ event: 'reply', cmd, value } satisfies HostEvent)
}

async function handle (command: HostCommand): Promise<void> {
  switch (command.cmd) {
    case 'start': {
      for (const i of command.indices) {
        const node = await createMeshNode({ privateKey: wallet(command.keyBase + i).privateKey, network: NETWORK, domain, syncOnConnect: false })
        node.onMessage('resource-offers', d => { port!.postMessage({ event: 'delivered', id: d.id, at: clock() } satisfies HostEvent) })
        nodes.set(i, node)
      }
      reply('start', Object.fromEntries([...nodes].map(([i, n]) => [i, n.multiaddrs()[0]?.toString()])))
      return
    }
    case 'dial': {
      // one at a time, as the one-loop bench always did: many handshakes at once time out on a busy machine
      let failed = 0
      for (const [from, to] of command.links) await nodes.get(from)?.dial(to).catch(() => { failed++ })
      reply('dial', failed)
      return
    }
    case 'meshSizes': {
      const size = (n: MeshNode): number => (n.libp2p.services.pubsub as unknown as { getMeshPeers: (t: string) => string[] }).getMeshPeers(topic).length
      reply('meshSizes', [...nodes.values()].map(size))
      return
    }
    case 'publish': {
      const node = nodes.get(command.index)
      if (node === undefined) throw new Error(`node ${command.index} is not hosted here`)
      const sentAt = clock()
      const { id } = await node.publish('resource-offers', command.envelope)
      reply('publish', { id, sentAt })
      return
    }
    case 'stop':
      await Promise.all([...nodes.values()].map(async n => { await n.stop() }))
      reply('stop')
      port!.close()
  }
}

port.on('message', (command: HostCommand) => {
  handle(command).catch(err => { port.postMessage({ event: 'error', message: (err as Error).stack ?? String(err) } satisfies HostEvent) })
})
