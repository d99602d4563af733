/**
 * One devnet for a test file (dev chain, node processes on 127.0.0.1, cowsay on Docker), job
 * creators run from the test process, and the checks that close every test: each node's log
 * audits, and the job creator and the provider recorded the same terms, results and outcome.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import { startDemoNetwork, type DemoNetwork } from '../../../src/cli/demo/demo-network.ts'
import { runJob, type JobResult, type RunJobOptions } from '../../../src/node/jobs/job-client.ts'
import { devnetJobOptions, type DevnetOptions } from '../../../src/devnet/devnet.ts'
import { creatorDeals, providerDeals, readLiveLog, readLog, type DealView, type NodeLog } from './node-logs.ts'

export interface E2eNetwork {
  devnet: DemoNetwork
  root: string
  /** a fresh data directory for a job creator, audited by `auditEverything` */
  jobDir: (name: string) => Promise<string>
  /** runs cowsay through the network as job creator `creator` (an index into the funded keys) */
  runCowsay: (message: string, o: { creator?: number, dataDir: string } & Partial<RunJobOptions>) => Promise<JobResult>
  /** runs any module reference through the network, as `runCowsay` does */
  runModule: (module: string, inputs: Record<string, string>, o: { creator?: number, dataDir: string } & Partial<RunJobOptions>) => Promise<JobResult>
  /** audits every node's log (a copy, as they run) and every job creator's; all must hold */
  auditEverything: () => Promise<NetworkLogs>
  stop: () => Promise<void>
}

export interface NetworkLogs {
  nodes: Map<string, NodeLog>
  creators: NodeLog[]
  /** the job creators' deals, each checked against the provider's record of it */
  deals: Array<DealView & { provider: string }>
}

export async function startE2eNetwork (options: Omit<DevnetOptions, 'dir' | 'mirrors'> = {}): Promise<E2eNetwork> {
  const root = await mkdtemp(join(tmpdir(), 'lilypad-e2e-'))
  const devnet = await startDemoNetwork({ ...options, dir: join(root, 'devnet'), engine: 'docker' }).catch(async (err: unknown) => {
    if (process.env.LILYPAD_E2E_KEEP === undefined) await rm(root, { recursive: true, force: true })
    throw err
  })
  const { info } = devnet
  const jobDirs: string[] = []
  const scratch = join(root, 'log-copies')
  return {
    devnet,
    root,
    jobDir: async (name) => {
      const dir = join(root, 'jobs', name)
      await mkdir(dir, { recursive: true })
      jobDirs.push(dir)
      return dir
    },
    runCowsay: async (message, { creator = 0, ...o }) => await runJob({
      module: 'cowsay:v0.0.1',
      inputs: { Message: message },
      ...devnetJobOptions(info, creator),
      ...o
    }),
    runModule: async (module, inputs, { creator = 0, ...o }) => await runJob({ module, inputs, ...devnetJobOptions(info, creator), ...o }),
    auditEverything: async () => {
      const nodes = new Map<string, NodeLog>()
      for (const node of info.nodes) nodes.set(node.name, await readLiveLog(node.name, node.dataDir, scratch))
      const creators: NodeLog[] = []
      for (const dir of jobDirs) creators.push(await readLog(dir, join(dir, 'log')))
      for (const log of [...nodes.values(), ...creators]) {
        expect(log.report.failure, `audit of ${log.name}`).toBeUndefined()
        expect(log.report.ok).toBe(true)
        expect(log.slotClashes, `slots of ${log.name}`).toEqual([])
      }
      return { nodes, creators, deals: expectPartiesAgree(creators, nodes) }
    },
    stop: async () => {
      await devnet.stop()
      // LILYPAD_E2E_KEEP=1 keeps every node's data directory and node.log for a look afterwards
      if (process.env.LILYPAD_E2E_KEEP === undefined) await rm(root, { recursive: true, force: true })
      else console.log(`e2e network kept at ${root}`)
    }
  }
}

/** Every deal a job creator recorded is recorded by exactly one provider, with the same terms, results CID and outcome. */
function expectPartiesAgree (creators: NodeLog[], nodes: Map<string, NodeLog>): NetworkLogs['deals'] {
  const providers = [...nodes.values()].filter(n => n.contexts.has('resource-provider')).map(n => ({ name: n.name, deals: providerDeals(n) }))
  const checked: NetworkLogs['deals'] = []
  for (const creator of creators) {
    for (const deal of creatorDeals(creator)) {
      const holders = providers.filter(p => p.deals.has(deal.dealId))
      expect(holders.map(h => h.name), `providers holding deal ${deal.dealId}`).toHaveLength(1)
      const theirs = holders[0]!.deals.get(deal.dealId)!
      expect(theirs.deal, `terms of ${deal.dealId}`).toEqual(deal.deal)
      // a provider that could not deliver its results before the submit deadline still holds them
      if (deal.outcome !== 'TimeoutSubmit') expect(theirs.resultsCid, `results of ${deal.dealId}`).toBe(deal.resultsCid)
      expect(theirs.outcome, `outcome of ${deal.dealId}`).toBe(deal.outcome)
      checked.push({ ...deal, provider: holders[0]!.name })
    }
  }
  return checked
}
