/**
 * Jobs submitted to a running job-creator node (the devnet's, with its API on 127.0.0.1) instead of
 * a node started per job: through the HTTP API itself, and through `lilypad run --node` and
 * `lilypad run` finding the node in devnet.json.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { JobView } from '../../../src/node/server/job-board.ts'
import type { JobResult } from '../../../src/node/jobs/job-client.ts'
import { RUN_EXIT } from '../../../src/cli/commands/run.ts'
import { startE2eNetwork, type E2eNetwork } from './e2e-network.ts'
import { creatorDeals, providerDeals } from './node-logs.ts'
import { errorLines, lilypad } from './cli.ts'

describe('jobs through a running job-creator node', () => {
  let net: E2eNetwork
  let api: string

  beforeAll(async () => {
    // the nodes are told of the first mediator only; the provider and the job-creator node also trust
    // mediators that announce themselves with a stake on chain (every devnet mediator stakes)
    const byStake = { mediatorMinStake: '1' }
    net = await startE2eNetwork({ providers: 1, solvers: 1, mediators: 2, configuredMediators: 1, jobCreatorNode: true, nodeConfig: { 'provider-1': byStake, 'job-creator': byStake } })
    api = net.devnet.info.jobCreatorApi!
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  }, 300_000)

  afterAll(async () => {
    await net?.stop()
  }, 60_000)

  afterEach(async () => {
    const logs = await net.auditEverything()
    // every deal the node signed is the provider's deal, with the same terms and outcome
    const provider = providerDeals(logs.nodes.get('provider-1')!)
    for (const deal of creatorDeals(logs.nodes.get('job-creator')!)) {
      expect(provider.get(deal.dealId)?.deal).toEqual(deal.deal)
      expect(provider.get(deal.dealId)?.outcome).toBe(deal.outcome)
    }
  }, 60_000)

  const post = async (body: string, contentType = 'application/json'): Promise<{ status: number, body: Record<string, unknown> }> => {
    const res = await fetch(`${api}/jobs`, { method: 'POST', headers: { 'content-type': contentType }, body })
    return { status: res.status, body: await res.json() as Record<string, unknown> }
  }

  it('POST /jobs offers the job and answers its id; GET /jobs/<id> follows it to the cow; bad input is a 400 with a one-line reason', async () => {
    const submitted = await post(JSON.stringify({ module: 'cowsay:v0.0.1', inputs: { Message: 'api' }, mediationChance: 0 }))
    expect(submitted.status).toBe(202)
    const id = submitted.body.id as string
    expect(id).toMatch(/^[0-9a-zA-Z]+$/)

    const bad = await Promise.all([
      post('{"module":'),
      post(JSON.stringify({ module: 42 })),
      post(JSON.stringify({ module: 'cowsay:v0.0.1', inputs: { Message: 1 } })),
      post(JSON.stringify({ module: 'cowsay:v0.0.1', mediationChance: 101 })),
      post(JSON.stringify({ module: 'cowsay:v0.0.1', colour: 'red' })),
      post(JSON.stringify({ module: 'cowsay:v9.9.9' }))
    ])
    expect(bad.map(b => b.status)).toEqual([400, 400, 400, 400, 400, 400])
    for (const { body } of bad) {
      expect(typeof body.error).toBe('string')
      expect(body.error).not.toMatch(/\n|\bat \S+:\d+/)
    }
    expect(bad[5]!.body.error).toMatch(/ref "v9\.9\.9" not found in module repository/)
    expect((await post('module=cowsay', 'application/x-www-form-urlencoded')).status).toBe(415)
    expect((await fetch(`${api}/jobs/nosuchjob`)).status).toBe(404)

    let view: JobView
    do {
      await new Promise(resolve => setTimeout(resolve, 200))
      view = await (await fetch(`${api}/jobs/${id}`)).json() as JobView
    } while (!view.done)
    expect(view.error).toBeNull()
    expect(view.phases.map(p => p.phase)).toEqual(expect.arrayContaining(['offered', 'matched', 'agreed', 'results', 'verified']))
    expect(view.result).toMatchObject({ outcome: 'Accepted', checked: false })
    expect(view.result!.stdout).toContain('< api >')
  }, 120_000)

  it('mediators found by their announcements and stake are trusted: a job that asks for 2 verdicts matches with the configured mediator and the announced one', async () => {
    const [configured, announced] = net.devnet.info.mediators
    const submitted = await post(JSON.stringify({ module: 'cowsay:v0.0.1', inputs: { Message: 'found' }, mediationChance: 0, quorum: 2, matchWithinMs: 120_000 }))
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202)
    let view: JobView
    do {
      await new Promise(resolve => setTimeout(resolve, 200))
      view = await (await fetch(`${api}/jobs/${submitted.body.id as string}`)).json() as JobView
    } while (!view.done)
    expect(view.error).toBeNull()
    expect(view.result).toMatchObject({ outcome: 'Accepted' })
    const logs = await net.auditEverything()
    const deal = creatorDeals(logs.nodes.get('job-creator')!).find(d => d.deal.quorum === 2)
    // neither node was told of the second mediator: both found it on the mesh and read its stake on chain
    expect(deal?.deal.mediators).toEqual([configured, announced])
    // a quorum larger than the mediators the node trusts is refused before anything is offered
    const tooMany = await post(JSON.stringify({ module: 'cowsay:v0.0.1', quorum: 3 }))
    expect(tooMany).toMatchObject({ status: 400, body: { code: 'BAD_INPUT', error: 'a quorum of 3 needs 3 trusted mediators; this node trusts 2' } })
  }, 180_000)

  it('`lilypad run --node <api>` and `lilypad run` on a devnet with a job-creator node submit to it, with live phases and exit codes', async () => {
    const devnetDir = join(net.root, 'devnet')
    const [viaFlag, viaDevnet, unknownModule, noNode] = await Promise.all([
      lilypad(['run', 'cowsay:v0.0.1', '-i', 'Message=flag', '--node', api, '--mediation-chance', '0', '--json']),
      lilypad(['run', 'cowsay:v0.0.1', '-i', 'Message=devnet', '--devnet-dir', devnetDir, '--wait-settled']),
      lilypad(['run', 'cowsay:v9.9.9', '-i', 'Message=moo'], { LILYPAD_NODE_API: api }),
      lilypad(['run', 'cowsay:v0.0.1', '--node', 'http://127.0.0.1:9'])
    ])

    expect(viaFlag.code, viaFlag.stderr).toBe(RUN_EXIT.ok)
    const result = JSON.parse(viaFlag.stdout.trim().split('\n').pop()!) as JobResult
    // it ends once the results are verified; the node settles on its own
    expect(result).toMatchObject({ outcome: 'Accepted', checked: false, settled: false })
    expect(result.stdout).toContain('< flag >')
    expect(result.timings.verified).toBeGreaterThan(0)

    expect(viaDevnet.code).toBe(RUN_EXIT.ok)
    expect(viaDevnet.stdout).toContain('< devnet >')
    // the node re-runs a third of its jobs to check them (the default mediation chance)
    expect(viaDevnet.stdout).toMatch(/: Accepted( \(results re-run and checked\))?, settled on chain/)
    for (const phase of ['offered', 'matched', 'agreed, running', 'results', 'verified']) expect(viaDevnet.stderr).toMatch(new RegExp(`^  ${phase}`, 'm'))
    // the devnet's node ran it: no per-job node was started in the devnet folder
    expect(viaDevnet.stdout).toContain(join(devnetDir, 'nodes', 'job-creator'))

    expect(unknownModule.code).toBe(RUN_EXIT.badInput)
    expect(errorLines(unknownModule.stderr)).toEqual([expect.stringMatching(/ref "v9\.9\.9" not found in module repository/)])
    expect(noNode.code).toBe(RUN_EXIT.noNetwork)
    expect(errorLines(noNode.stderr)).toEqual(['lilypad run: no job-creator node answers at http://127.0.0.1:9: is it running?'])
  }, 120_000)

  it('`lilypad jobs` lists, describes, shows logs of, fetches and cancels the node\'s jobs, and its list outlives a restart of the node', async () => {
    const jobs = async (args: string[], node = api): Promise<{ code: number | null, json: Record<string, unknown> }> => {
      const run = await lilypad(['jobs', ...args, '--node', node, '--json'])
      return { code: run.code, json: JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown> }
    }
    const listed = await jobs(['list'])
    expect(listed.code).toBe(0)
    const before = listed.json.jobs as Array<{ id: string, outcome: string | null, state: string }>
    expect(before.length).toBeGreaterThanOrEqual(3)
    const accepted = before.filter(j => j.outcome === 'Accepted')
    expect(accepted.length).toBeGreaterThanOrEqual(3)
    const id = accepted[0]!.id

    const described = await jobs(['describe', id])
    expect(described.code).toBe(0)
    expect(described.json).toMatchObject({ id, done: true, result: { outcome: 'Accepted' } })
    const logs = await jobs(['logs', id])
    expect(logs.code).toBe(0)
    expect(logs.json.stdout).toMatch(/< \w+ >/)
    const out = join(net.root, 'fetched', id)
    const got = await jobs(['get', id, '--out', out])
    expect(got).toMatchObject({ code: 0, json: { id, dir: out } })
    expect(await readFile(join(out, 'stdout'), 'utf8')).toBe(logs.json.stdout)
    expect(await jobs(['describe', 'nosuchjob'])).toMatchObject({ code: 1, json: { code: 'NOT_FOUND' } })

    // a job no provider takes (its price is below every offer's) waits for a match: it can be called off
    const waiting = await post(JSON.stringify({ module: 'cowsay:v0.0.1', inputs: { Message: 'never' }, maxPrice: '1', matchWithinMs: 60_000 }))
    expect(waiting.status).toBe(202)
    const cancelled = await jobs(['cancel', waiting.body.id as string])
    expect(cancelled).toMatchObject({ code: 0, json: { cancelled: true } })
    let view: JobView
    do {
      await new Promise(resolve => setTimeout(resolve, 100))
      view = await (await fetch(`${api}/jobs/${waiting.body.id as string}`)).json() as JobView
    } while (!view.done)
    expect(view.error?.code).toBe('CANCELLED')
    // a job with a signed deal is not called off
    expect(await jobs(['cancel', id])).toMatchObject({ code: 1, json: { code: 'TOO_LATE' } })

    const node = net.devnet.node('job-creator')
    await node.kill()
    await node.restart()
    const restarted = node.started()!.api!
    const after = await jobs(['list'], restarted)
    expect(after.code).toBe(0)
    const again = after.json.jobs as Array<{ id: string, outcome: string | null, cancelled: boolean }>
    for (const job of before) expect(again.find(j => j.id === job.id)?.outcome).toBe(job.outcome)
    expect(again.find(j => j.id === waiting.body.id)?.cancelled).toBe(true)
    api = restarted
  }, 180_000)
})
