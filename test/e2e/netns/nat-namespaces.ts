/**
 * Hosts behind NATs, for end-to-end tests: each a network namespace on a private network of its
 * own, joined by a veth pair to a router, a host of `createHosts` on the public network. The router
 * masquerades what the private network sends (iptables MASQUERADE, as a home router does) and
 * forwards to it only the answers to connections opened from inside: nothing outside can dial a
 * host behind it, and the private networks are routed nowhere. The router's rules live in its own
 * namespace and go with it; `destroy` removes the private hosts' namespaces and ends what runs there.
 */
import { spawnSync } from 'node:child_process'
import { run, type Host, type Hosts } from './namespaces.ts'

export interface NattedHost extends Host {
  /** the router's address on the public network: the one the host's connections come from */
  publicAddress: string
}

export interface NattedHosts {
  hosts: NattedHost[]
  host: (name: string) => NattedHost
  /** the command line a process runs under to run on host `name` */
  exec: (name: string) => string[]
  /** counts, from now, the packets the router of `name` forwards from its private network to `to`: the function reads the count */
  countForwarded: (name: string, to: string) => Promise<() => Promise<number>>
  destroy: () => Promise<void>
}

/** Puts each host named behind its router (a host of `hosts`), on private network 192.168.(100 + i).0/24. */
export async function createNattedHosts (hosts: Hosts, behind: Array<{ name: string, router: string }>): Promise<NattedHosts> {
  const made: string[] = []
  const destroyNow = (): void => {
    for (const namespace of made.splice(0).reverse()) {
      for (const pid of spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone already */ }
      }
      spawnSync('ip', ['netns', 'del', namespace])
    }
  }
  process.once('exit', destroyNow)

  const natted: NattedHost[] = []
  const routerOf = new Map<string, Host>()
  try {
    for (const [i, { name, router: routerName }] of behind.entries()) {
      const router = hosts.host(routerName)
      const namespace = `lp${process.pid}n${i + 1}`
      const lan = `192.168.${100 + i}`
      const ip = async (ns: string, ...args: string[]): Promise<string> => await run('ip', ['-n', ns, ...args])
      const iptables = async (...args: string[]): Promise<string> => await run('nsenter', [`--net=/var/run/netns/${router.namespace}`, '--', 'iptables', '-w', ...args])
      await run('ip', ['netns', 'add', namespace])
      made.push(namespace)
      await ip(router.namespace, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace)
      await ip(router.namespace, 'addr', 'add', `${lan}.1/24`, 'dev', 'lan0')
      await ip(router.namespace, 'link', 'set', 'lan0', 'up')
      await ip(namespace, 'link', 'set', 'lo', 'up')
      await ip(namespace, 'addr', 'add', `${lan}.2/24`, 'dev', 'eth0')
      await ip(namespace, 'link', 'set', 'eth0', 'up')
      await ip(namespace, 'route', 'add', 'default', 'via', `${lan}.1`)
      await run('nsenter', [`--net=/var/run/netns/${router.namespace}`, '--', 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
      await iptables('-t', 'nat', '-A', 'POSTROUTING', '-s', `${lan}.0/24`, '-o', 'eth0', '-j', 'MASQUERADE')
      await iptables('-A', 'FORWARD', '-i', 'lan0', '-o', 'eth0', '-j', 'ACCEPT')
      await iptables('-A', 'FORWARD', '-i', 'eth0', '-o', 'lan0', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
      await iptables('-P', 'FORWARD', 'DROP')
      natted.push({ name, namespace, address: `${lan}.2`, publicAddress: router.address })
      routerOf.set(name, router)
    }
  } catch (err) {
    destroyNow()
    process.off('exit', destroyNow)
    throw err
  }

  const host = (name: string): NattedHost => {
    const found = natted.find(h => h.name === name)
    if (found === undefined) throw new Error(`no host ${name} behind a NAT`)
    return found
  }
  return {
    hosts: natted,
    host,
    exec: (name) => ['nsenter', `--net=/var/run/netns/${host(name).namespace}`, '--'],
    countForwarded: async (name, to) => {
      const router = routerOf.get(name)!
      const iptables = async (...args: string[]): Promise<string> => await run('nsenter', [`--net=/var/run/netns/${router.namespace}`, '--', 'iptables', '-w', ...args])
      const comment = `count-to-${to}`
      // a rule with no target only counts what passes it
      await iptables('-I', 'FORWARD', '1', '-i', 'lan0', '-d', `${to}/32`, '-m', 'comment', '--comment', comment)
      return async () => {
        const line = (await iptables('-L', 'FORWARD', '-v', '-x', '-n')).split('\n').find(l => l.includes(`/* ${comment} */`))
        if (line === undefined) throw new Error(`no counting rule ${comment} on the router of ${name}`)
        return Number(line.trim().split(/\s+/)[0])
      }
    },
    destroy: async () => {
      destroyNow()
      process.off('exit', destroyNow)
    }
  }
}
