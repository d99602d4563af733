/**
 * A job creator and a provider, each behind a NAT of its own (a router namespace that masquerades
 * its private network, as a home router does), run a whole deal through a solver on the public
 * network that also serves as their relay: matched, run, results fetched by the job creator,
 * accepted and settled. Neither can be dialled from outside; the dev chain, on the public network,
 * is reached through the NATs. With TCP behind such NATs DCUtR finds no address to punch a hole
 * to (protocols/mesh/relay.ts), so the two parties talk through the relay: not one packet goes
 * between the two NATs.
 */
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devnetJobOptions } from '../../../src/devnet/devnet.ts'
import { startE2eNetwork, type E2eNetwork } from '../network/e2e-network.ts'
import { runJobUnder } from './job-process.ts'
import { createHosts, type Hosts } from './namespaces.ts'
import { createNattedHosts, type NattedHosts } from './nat-namespaces.ts'

/** Whether a TCP connection from the host `prefix` runs on to `host:port` opens within 2 s. */
async function connects (prefix: string[], host: string, port: number): Promise<boolean> {
  return await promisify(execFile)(prefix[0]!, [...prefix.slice(1), 'timeout', '2', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`]).then(() => true, () => false)
}

/** The address a TCP connection from the host `prefix` runs on arrives from, at a server of this (the root) namespace on `local`. */
async function seenFrom (prefix: string[], local: string): Promise<string | undefined> {
  const server = createServer()
  const arrived = new Promise<string | undefined>(resolve => server.once('connection', socket => { resolve(socket.remoteAddress); socket.destroy() }))
  await new Promise<void>(resolve => server.listen(0, local, resolve))
  const { port } = server.address() as { port: number }
  try {
    await connects(prefix, local, port)
    return await arrived
  } finally {
    server.close()
  }
}

describe('a job creator and a provider behind NATs of their own, a solver on the public network as their relay', () => {
  let hosts: Hosts
  let natted: NattedHosts
  let net: E2eNetwork

  beforeAll(async () => {
    hosts = await createHosts(['solver-1', 'mediator-1', 'creator-router', 'provider-router'])
    natted = await createNattedHosts(hosts, [{ name: 'creator', router: 'creator-router' }, { name: 'provider-1', router: 'provider-router' }])
    net = await startE2eNetwork({
      solvers: 1,
      mediators: 1,
      providers: 1,
      chainHost: hosts.service,
      placement: name => name === 'provider-1'
        ? { host: natted.host(name).address, prefix: natted.exec(name) }
        : { host: hosts.host(name).address, prefix: hosts.exec(name) },
      nodeConfig: (name, started) => {
        if (name === 'solver-1') return { relayServer: true }
        if (name === 'provider-1') return { relays: [started.find(n => n.name === 'solver-1')!.multiaddrs[0]!] }
        return undefined
      }
    })
  }, 60_000)

  afterAll(async () => {
    try {
      await net?.stop()
    } finally {
      await natted?.destroy()
      await hosts?.destroy()
    }
  }, 30_000)

  it('neither can be dialled from outside; they run a deal through the relay, results fetched, accepted and settled, and no packet goes between the NATs', async () => {
    const { info } = net.devnet
    const solver = info.nodes.find(n => n.name === 'solver-1')!
    const provider = info.nodes.find(n => n.name === 'provider-1')!
    const relay = solver.multiaddrs[0]!
    const [, , providerHost, , providerPort] = provider.multiaddrs[0]!.split('/')
    expect(providerHost).toBe(natted.host('provider-1').address)

    // from the relay's host: the provider's port, at its private address and at its NAT's, is closed to it, a public node's is not
    const fromPublic = hosts.exec('solver-1')
    const [, , mediatorHost, , mediatorPort] = info.nodes.find(n => n.name === 'mediator-1')!.multiaddrs[0]!.split('/')
    expect(await connects(fromPublic, mediatorHost!, Number(mediatorPort)), 'a public node\'s port').toBe(true)
    expect(await connects(fromPublic, providerHost!, Number(providerPort)), 'the provider\'s private address').toBe(false)
    expect(await connects(fromPublic, natted.host('provider-1').publicAddress, Number(providerPort)), 'the provider\'s NAT').toBe(false)
    // what a host behind a NAT sends leaves with its router's public address
    for (const host of natted.hosts) expect(await seenFrom(natted.exec(host.name), hosts.local)).toBe(host.publicAddress)

    const creatorToProvider = await natted.countForwarded('creator', natted.host('provider-1').publicAddress)
    const providerToCreator = await natted.countForwarded('provider-1', natted.host('creator').publicAddress)
    const creatorToRelay = await natted.countForwarded('creator', hosts.host('solver-1').address)
    const dataDir = await net.jobDir('behind-nat')
    const creator = natted.host('creator')
    const result = await runJobUnder(natted.exec('creator'), {
      ...devnetJobOptions(info),
      module: 'cowsay:v0.0.1',
      inputs: { Message: 'behind two NATs' },
      dataDir,
      listen: [`/ip4/${creator.address}/tcp/0`],
      // the job creator joins through the relay alone: the provider's address is a private one
      bootstrap: [relay],
      relays: [relay]
    })
    expect(result).toMatchObject({ outcome: 'Accepted', settled: true, provider: provider.address })
    expect(result.stdout).toContain('< behind two NATs >')

    // a hole punched between the NATs (DCUtR) would have sent packets from one to the other: through the relay, none
    expect(await creatorToRelay(), 'packets from the job creator\'s NAT to the relay').toBeGreaterThan(0)
    expect(await creatorToProvider(), 'packets from the job creator\'s NAT to the provider\'s: the connection is relayed, not hole-punched').toBe(0)
    expect(await providerToCreator(), 'packets from the provider\'s NAT to the job creator\'s: the connection is relayed, not hole-punched').toBe(0)
    const { deals } = await net.auditEverything()
    expect(deals.map(d => [d.provider, d.outcome])).toEqual([['provider-1', 'Accepted']])
  }, 60_000)
})
