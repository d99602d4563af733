/**
 * Hosts for end-to-end tests: each a network namespace the test makes, and removes after it. A
 * switch namespace holds a bridge; a veth pair joins each host to it, and one joins this (the root)
 * namespace, which gets two addresses on the hosts' /24: `local`, the test process's own, and
 * `service`, for a service (the dev chain) that a partition may leave reachable while it cuts the
 * test process off. The bridge has a namespace of its own because a Docker engine sends what is
 * bridged in the root namespace through its firewall, whose FORWARD policy drops it.
 *
 * `impair` delays and drops what each host sends: `tc netem`, or, on a kernel built without netem,
 * delay-queue.py, which does the same from a netfilter queue. `partition` cuts two groups of
 * addresses apart with blackhole routes inside the hosts, and `heal` removes them.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const QUEUE_SCRIPT = fileURLToPath(new URL('./delay-queue.py', import.meta.url))

export interface Host {
  name: string
  namespace: string
  address: string
}

export interface LinkCounts { packets: number, dropped: number }

export interface Hosts {
  hosts: Host[]
  host: (name: string) => Host
  /** the test process's address on the hosts' network */
  local: string
  /** a second address of this namespace, for a service a partition may keep apart from `local` */
  service: string
  /** the command line a process runs under to run on host `name` */
  exec: (name: string) => string[]
  /** delays each host's outgoing packets by `delayMs` and drops `lossPercent` of them; says how */
  impair: (o: { delayMs: number, lossPercent: number }) => Promise<'netem' | 'delay-queue'>
  /** the packets each host sent through its impairment, and those dropped there */
  counts: () => Promise<Map<string, LinkCounts>>
  /** no packet goes between an address of `a` and one of `b` until `heal` */
  partition: (a: string[], b: string[]) => Promise<void>
  heal: () => Promise<void>
  destroy: () => Promise<void>
}

/** Runs a command; its failure names the command and carries its stderr. */
export async function run (command: string, args: string[]): Promise<string> {
  try {
    return (await promisify(execFile)(command, args)).stdout
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`${command} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`)
  }
}

const ip = async (...args: string[]): Promise<string> => await run('ip', args)

/** A /24 of 10.213.0.0/16 that no address or route here names yet, as its first three octets and a dot. */
async function freeSubnet (): Promise<string> {
  const used = await ip('-4', '-o', 'addr', 'show') + await ip('-4', 'route', 'show', 'table', 'all')
  for (let i = 0; i < 200; i++) {
    const prefix = `10.213.${20 + (process.pid + i) % 200}.`
    if (!used.includes(prefix)) return prefix
  }
  throw new Error('no free /24 in 10.213.0.0/16 for the test hosts')
}

export async function createHosts (names: string[]): Promise<Hosts> {
  const tag = `lp${process.pid}`
  const netnsPath = (namespace: string): string => `/var/run/netns/${namespace}`
  const nsenter = (namespace: string): string[] => ['nsenter', `--net=${netnsPath(namespace)}`, '--']
  const made: string[] = []
  const rootLink = `${tag}r`
  const queues: ChildProcess[] = []
  const routes: Array<[namespace: string, to: string]> = []

  const destroyNow = (): void => {
    for (const queue of queues.splice(0)) queue.kill('SIGKILL')
    for (const namespace of made.splice(0).reverse()) {
      // whatever a test left running there (a node it did not stop) is ours to end
      for (const pid of spawnSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL') } catch { /* gone already */ }
      }
      spawnSync('ip', ['netns', 'del', namespace])
    }
    spawnSync('ip', ['link', 'del', rootLink], { stdio: 'ignore' })
  }
  process.once('exit', destroyNow)

  const switchNs = `${tag}s`
  try {
    await ip('netns', 'add', switchNs)
  } catch (err) {
    process.off('exit', destroyNow)
    throw new Error(`network namespaces cannot be made here, so these tests cannot run: ${(err as Error).message}. They need root and iproute2 (.ci/run installs it).`)
  }
  made.push(switchNs)
  const hosts: Host[] = []
  let subnet = ''
  try {
    subnet = await freeSubnet()
    await ip('-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge')
    await ip('-n', switchNs, 'link', 'set', 'br0', 'up')
    await ip('link', 'add', rootLink, 'type', 'veth', 'peer', 'name', 'root', 'netns', switchNs)
    await ip('-n', switchNs, 'link', 'set', 'root', 'master', 'br0', 'up')
    await ip('addr', 'add', `${subnet}1/24`, 'dev', rootLink)
    await ip('addr', 'add', `${subnet}2/24`, 'dev', rootLink)
    await ip('link', 'set', rootLink, 'up')
    for (const [i, name] of names.entries()) {
      const namespace = `${tag}h${i + 1}`
      await ip('netns', 'add', namespace)
      made.push(namespace)
      await ip('-n', switchNs, 'link', 'add', `h${i + 1}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace)
      await ip('-n', switchNs, 'link', 'set', `h${i + 1}`, 'master', 'br0', 'up')
      await ip('-n', namespace, 'link', 'set', 'lo', 'up')
      await ip('-n', namespace, 'addr', 'add', `${subnet}${11 + i}/24`, 'dev', 'eth0')
      await ip('-n', namespace, 'link', 'set', 'eth0', 'up')
      hosts.push({ name, namespace, address: `${subnet}${11 + i}` })
    }
  } catch (err) {
    destroyNow()
    process.off('exit', destroyNow)
    throw err
  }

  const host = (name: string): Host => {
    const found = hosts.find(h => h.name === name)
    if (found === undefined) throw new Error(`no test host ${name}`)
    return found
  }
  const counters = new Map<string, () => Promise<LinkCounts>>()
  let impaired: 'netem' | 'delay-queue' | undefined

  return {
    hosts,
    host,
    local: `${subnet}1`,
    service: `${subnet}2`,
    exec: (name) => nsenter(host(name).namespace),
    impair: async ({ delayMs, lossPercent }) => {
      if (impaired !== undefined) throw new Error('the links are impaired already')
      const netem = (h: Host): Promise<string> => run('tc', ['-n', h.namespace, 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', `${delayMs}ms`, 'loss', `${lossPercent}%`])
      impaired = await netem(hosts[0]!).then(() => 'netem' as const, (err: Error) => {
        if (/qdisc kind is unknown/.test(err.message)) return 'delay-queue' as const
        throw err
      })
      for (const h of hosts) {
        if (impaired === 'netem') {
          if (h !== hosts[0]) await netem(h)
          counters.set(h.name, async () => {
            const [qdisc] = JSON.parse(await run('tc', ['-n', h.namespace, '-s', '-j', 'qdisc', 'show', 'dev', 'eth0'])) as Array<{ packets: number, drops: number }>
            return { packets: qdisc!.packets, dropped: qdisc!.drops }
          })
        } else {
          const queue = await startQueue(nsenter(h.namespace), delayMs, lossPercent)
          queues.push(queue.child)
          await run('nsenter', [`--net=${netnsPath(h.namespace)}`, '--', 'iptables', '-w', '-A', 'OUTPUT', '-o', 'eth0', '-j', 'NFQUEUE', '--queue-num', '0'])
          counters.set(h.name, queue.counts)
        }
      }
      return impaired
    },
    counts: async () => new Map(await Promise.all([...counters].map(async ([name, read]) => [name, await read()] as const))),
    partition: async (a, b) => {
      const hostAt = (address: string): Host | undefined => hosts.find(h => h.address === address)
      // a route inside one host cuts a pair with the root namespace both ways: nothing it sends the other arrives
      const cut = async (from: string, to: string): Promise<void> => {
        const h = hostAt(from)
        if (h === undefined) return
        await ip('-n', h.namespace, 'route', 'add', 'blackhole', `${to}/32`)
        routes.push([h.namespace, to])
      }
      for (const x of a) {
        for (const y of b) {
          if (hostAt(x) === undefined && hostAt(y) === undefined) throw new Error(`${x} and ${y} are both in the root namespace: no route can part them`)
          await cut(x, y)
          await cut(y, x)
        }
      }
    },
    heal: async () => {
      for (const [namespace, to] of routes.splice(0)) await ip('-n', namespace, 'route', 'del', 'blackhole', `${to}/32`)
    },
    destroy: async () => {
      await Promise.all(queues.map(q => new Promise<void>(resolve => {
        if (q.exitCode !== null || q.signalCode !== null) return resolve()
        q.once('exit', () => resolve())
        q.kill('SIGTERM')
      })))
      destroyNow()
      process.off('exit', destroyNow)
    }
  }
}

/** delay-queue.py in a host's namespace, bound to its queue 0, and a way to read its counts. */
async function startQueue (prefix: string[], delayMs: number, lossPercent: number): Promise<{ child: ChildProcess, counts: () => Promise<LinkCounts> }> {
  const child = spawn(prefix[0]!, [...prefix.slice(1), 'python3', QUEUE_SCRIPT, '0', String(delayMs), String(lossPercent)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  let buffer = ''
  const waiting: Array<(line: string) => void> = []
  child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000) })
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString()
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + 1)
      waiting.shift()?.(line)
    }
  })
  const nextLine = (what: string): Promise<string> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`delay-queue.py: no ${what} within 10 s (stderr: ${stderr.trim()})`)), 10_000)
    const gone = (err?: unknown): void => {
      clearTimeout(timer)
      reject(new Error(`delay-queue.py ended before its ${what}: ${err instanceof Error ? err.message : (stderr.trim() || 'is python3 installed?')}`))
    }
    child.once('exit', gone).once('error', gone)
    waiting.push(line => { clearTimeout(timer); child.off('exit', gone).off('error', gone); resolve(line) })
  })
  if (await nextLine('start') !== 'ready') throw new Error('delay-queue.py did not start')
  return {
    child,
    counts: async () => {
      const line = nextLine('counts')
      child.kill('SIGUSR1')
      return JSON.parse(await line) as LinkCounts
    }
  }
}
