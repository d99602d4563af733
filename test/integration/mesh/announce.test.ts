import { createServer } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import type { MeshNode } from '../../../src/protocols/mesh/index.ts'
import { meshNode } from './support.ts'

const nodes: MeshNode[] = []
afterEach(async () => { for (const n of nodes.splice(0)) await n.stop() })

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

describe('announced addresses', () => {
  it('are what a node tells its peers to reach it at, in place of the address it listens on (a port a router forwards)', async () => {
    const announced = '/ip4/203.0.113.7/tcp/4001'
    const port = await freePort()
    const behindRouter = await meshNode(1, { listen: [`/ip4/127.0.0.1/tcp/${port}`], announce: [announced] })
    const peer = await meshNode(2)
    nodes.push(behindRouter, peer)
    expect(behindRouter.multiaddrs().map(a => a.toString().split('/p2p/')[0])).toEqual([announced])
    // a peer that reaches it through the forwarded port learns the announced address by identify
    await peer.libp2p.dial(multiaddr(`/ip4/127.0.0.1/tcp/${port}/p2p/${behindRouter.peerId.toString()}`))
    let learned: string[] = []
    for (let i = 0; i < 50 && !learned.includes(announced); i++) {
      await new Promise(resolve => setTimeout(resolve, 100))
      learned = (await peer.libp2p.peerStore.get(behindRouter.peerId)).addresses.map(a => a.multiaddr.toString())
    }
    expect(learned).toContain(announced)
  })
})
