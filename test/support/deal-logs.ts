/**
 * The logs of one deal as its parties wrote them: a job creator, a resource provider, a solver and
 * a mediator, each a RoleHost over its own event log on disk, in one process, joined by an in-memory
 * network, with fakes for the executor, the results store and the chain. What the audit of a deal
 * reads is what a node writes: the records and the signed messages kept beside them.
 */
import { join } from 'node:path'
import { Wallet } from 'ethers'
import { EventLog } from '../../src/actors/eventlog/event-log.ts'
import { LogWitness } from '../../src/actors/roles/log-witness.ts'
import { RoleHost, type Role } from '../../src/actors/roles/role-host.ts'
import type { JobRunner } from '../../src/actors/roles/effects/jobs.ts'
import { recordingChain } from './recording-chain.ts'
import type { JobOffer } from '../../src/protocols/messages/schemas.ts'
import type { SlotTerms } from '../../src/state-machines/resource-provider.machine.ts'
import type { JobCreatorContext } from '../../src/state-machines/job-creator.machine.ts'
import { MemoryNetwork } from './memory-transport.ts'

export const domain = { chainId: '31337', verifyingContract: '0x' + '5e'.repeat(20) }
export const HONEST_CID = 'QmZULkCELmmk5XNfCgTnCyFgAVxBRBXyDHGGMVoLFLiXEN'
export const OTHER_CID = 'QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn'

const wallet = (n: number): Wallet => new Wallet('0x' + n.toString(16).padStart(64, '0'))
export const parties = { creator: wallet(0xd1), provider: wallet(0xd2), solver: wallet(0xd3), mediator: wallet(0xd4) }
export type Party = keyof typeof parties

function runnerGiving (cid: string): JobRunner {
  return {
    run: async () => ({ resultsCid: cid, exitCode: 0, durationMs: 5, cpuMs: 0 }),
    failed: async (_runId, err) => { throw err },
    prepare: async () => {}
  }
}

const slot: SlotTerms = {
  cpu: 4000, gpu: 0, gpuVramMb: 0, ramMb: 8192, diskMb: 65536, maxSubmitWithin: 3600_000, modules: [],
  price: '800', resultsCollateral: '1500', timeoutCollateral: '400',
  trustedMediators: [parties.mediator.address], trustedSolvers: [parties.solver.address], multiaddrs: []
}

function jobOffer (now: number): JobOffer {
  return {
    author: parties.creator.address, nonce: String(now), expiry: now + 600_000,
    moduleRepo: '/modules/cowsay', moduleCommit: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2', modulePath: 'lilypad_module.json.tmpl',
    specHash: '0x' + '12'.repeat(32), inputs: '{"Message":"moo"}', image: '', inputsCid: '', urlPins: '',
    cpu: 1000, gpu: 0, gpuVramMb: 0, ramMb: 512, diskMb: 1024,
    maxPrice: '1000', maxSolverFee: '10', paymentCollateral: '2000', timeoutCollateral: '300',
    trustedMediators: [parties.mediator.address], quorum: 1, trustedSolvers: [parties.solver.address],
    matchDeadline: now + 300_000, agreeWithin: 60_000, submitWithin: 300_000, judgeWithin: 300_000, mediateWithin: 300_000
  }
}

export interface DealLogs {
  /** each party's data directory: its log is `<dir>/log` */
  dirs: Record<Party, string>
  dealId: string
  jobOfferId: string
  job: JobCreatorContext
}

/**
 * Runs one job to its end and stops every node. `accepted`: the creator takes the results
 * unchecked. `mediated`: the creator's check disagrees, it challenges, and the mediator's re-run
 * sides with the provider.
 */
export async function dealLogs (root: string, scenario: 'accepted' | 'mediated'): Promise<DealLogs> {
  const net = new MemoryNetwork()
  const chain = recordingChain({ readsChallenges: scenario === 'mediated' })
  const hosts: RoleHost[] = []
  const logs: EventLog[] = []
  const witnesses: LogWitness[] = []
  const dirs = {} as Record<Party, string>
  const start = async (name: Party, roles: Role[], runner: JobRunner): Promise<RoleHost> => {
    dirs[name] = join(root, name)
    const w = parties[name]
    const signer = { address: w.address, signDigest: (d: string) => w.signingKey.sign(d).serialized }
    const log = await EventLog.open(join(dirs[name], 'log'), { signer, checkpointEvery: 8 })
    logs.push(log)
    const transport = net.join(w.address)
    const witness = new LogWitness(log, signer, transport, { minIntervalMs: 0 })
    transport.witness = witness
    witnesses.push(witness)
    const host = await RoleHost.start({
      roles, domain, resourceProvider: { slots: [slot], commitMarginMs: 5_000 }, solver: { solverFee: '5', mediatorFee: '50', batchDelayMs: 5 }, mediator: { capacity: 2 }
    }, { log, wallet: w, transport, runner, fetcher: { fetch: async () => true }, settlement: chain })
    hosts.push(host)
    return host
  }
  try {
    const mediator = await start('mediator', ['mediator'], runnerGiving(HONEST_CID))
    await start('solver', ['solver'], runnerGiving(HONEST_CID))
    const provider = await start('provider', ['resource-provider'], runnerGiving(HONEST_CID))
    const creator = await start('creator', ['job-creator'], runnerGiving(scenario === 'accepted' ? HONEST_CID : OTHER_CID))
    const stream = await creator.submitJob(jobOffer(Date.now()), { checkRate: scenario === 'accepted' ? 0 : 1 })
    const job = await new Promise<JobCreatorContext>((resolve) => {
      creator.watchJob(stream, (c) => {
        if (c.phase !== 'done') return false
        resolve(c)
        return true
      })
    })
    // the provider settles what it was told; the mediator settles its verdict
    if (scenario === 'accepted') await chain.made('settleBatch')
    else await chain.made('settleVerdict')
    for (const host of [provider, mediator, creator]) await host.runtime.idle()
    // each log is told to the parties it dealt with, to its last record, as a quiet node does
    for (const witness of witnesses) await witness.flush()
    return { dirs, dealId: job.dealId!, jobOfferId: job.jobOfferId, job }
  } finally {
    for (const host of hosts) await host.stop()
    for (const log of logs) await log.close()
  }
}
