/**
 * A node's Prometheus metrics at `GET /metrics`: three cowsay jobs through the devnet's job-creator
 * node, then what the job creator and the provider tell of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobView } from '../../../src/node/server/job-board.ts'
import { startE2eNetwork, type E2eNetwork } from './e2e-network.ts'

/** One sample line of the text format: a name, labels maybe, a value, a timestamp maybe. */
const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*,?\})? (?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)(?: -?\d+)?$/
const COMMENT = /^# (?:HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (?:counter|gauge|histogram|summary|untyped))$/

interface Scrape {
  text: string
  /** the sum of the samples named `name` whose labels include every one of `labels` (0: none) */
  value: (name: string, labels?: Record<string, string>) => number
}

async function scrape (api: string): Promise<Scrape> {
  const res = await fetch(`${api}/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  const lines = text.split('\n').filter(line => line !== '')
  expect(lines.filter(line => !(line.startsWith('#') ? COMMENT : SAMPLE).test(line))).toEqual([])
  return {
    text,
    value: (name, labels = {}) => lines
      .filter(line => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .filter(line => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
  }
}

describe('metrics of a running network', () => {
  let net: E2eNetwork
  let creatorApi: string
  let providerApi: string

  beforeAll(async () => {
    net = await startE2eNetwork({ providers: 1, solvers: 1, mediators: 1, jobCreatorNode: true, api: true })
    creatorApi = net.devnet.info.jobCreatorApi!
    providerApi = net.devnet.node('provider-1').started()!.api!
    expect(providerApi).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
  }, 300_000)

  afterAll(async () => {
    await net?.stop()
  }, 60_000)

  it('the job creator counts 3 accepted deals and 3 matches, the provider 3 job runs, each run ahead; settlement, gossip validation and libp2p are there', async () => {
    for (const message of ['one', 'two', 'three']) {
      const submitted = await fetch(`${creatorApi}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ module: 'cowsay:v0.0.1', inputs: { Message: message }, mediationChance: 0 }) })
      expect(submitted.status).toBe(202)
      const { id } = await submitted.json() as { id: string }
      let view: JobView
      do {
        await new Promise(resolve => setTimeout(resolve, 200))
        view = await (await fetch(`${creatorApi}/jobs/${id}`)).json() as JobView
      } while (!view.done)
      expect(view.result).toMatchObject({ outcome: 'Accepted' })
    }

    const creator = await scrape(creatorApi)
    expect(creator.value('lilypad_deal_outcomes_total', { role: 'job-creator', outcome: 'Accepted' })).toBe(3)
    expect(creator.value('lilypad_deal_outcomes_total')).toBe(3)
    expect(creator.value('lilypad_job_time_to_match_seconds_count')).toBe(3)
    expect(creator.value('lilypad_deal_price_wei_total', { role: 'job-creator', outcome: 'Accepted' })).toBeGreaterThan(0)
    expect(creator.value('lilypad_peers')).toBeGreaterThan(0)
    expect(creator.value('lilypad_log_records')).toBeGreaterThan(0)

    const provider = await scrape(providerApi)
    expect(provider.value('lilypad_job_run_duration_seconds_count')).toBe(3)
    expect(provider.value('lilypad_job_run_failures_total')).toBe(0)
    // each job ran ahead of its deal, on its proposal, and its deal took that run
    expect(provider.value('lilypad_runs_ahead_total', { outcome: 'started' })).toBe(3)
    expect(provider.value('lilypad_runs_ahead_total', { outcome: 'taken' })).toBe(3)
    expect(provider.value('lilypad_runs_ahead_total', { outcome: 'stopped' })).toBe(0)
    expect(provider.value('lilypad_gossip_validations_total', { topic: 'job-offers', result: 'accept', code: 'OK' })).toBeGreaterThan(0)
    expect(provider.text).toMatch(/^libp2p_data_transfer_bytes_total\{protocol="global sent"\} \d+/m)

    // the provider settles its accepted deals, in batches, soon after (the job creator only if it does not in time)
    let settled: Scrape = provider
    for (const deadline = Date.now() + 30_000; settled.value('lilypad_effects_total', { type: 'chain.settle', result: 'ok' }) < 3 && Date.now() < deadline;) {
      await new Promise(resolve => setTimeout(resolve, 500))
      settled = await scrape(providerApi)
    }
    expect(settled.value('lilypad_effects_total', { type: 'chain.settle', result: 'ok' })).toBe(3)
    expect(settled.value('lilypad_chain_transactions_total', { result: 'ok' })).toBeGreaterThan(0)
    expect(settled.value('lilypad_chain_gas_used_total')).toBeGreaterThan(0)
  }, 240_000)
})
