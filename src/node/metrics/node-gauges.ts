import { Counter, Gauge, type Registry } from 'prom-client'
import type { NodeReadings } from './metric-sources.ts'

/** What the node holds now, read at each scrape: peers, log, effects under way, gossip validation. */
export function registerNodeGauges (registry: Registry, node: NodeReadings): void {
  const registers = [registry]
  new Gauge({ name: 'lilypad_peers', help: 'Peers connected now', registers, collect () { this.set(node.peers()) } })
  new Gauge({ name: 'lilypad_log_records', help: 'Records in the node\'s event log (its rate is the append rate)', registers, collect () { this.set(node.logRecords()) } })
  new Gauge({ name: 'lilypad_pending_effects', help: 'Effects started and not yet ended', registers, collect () { this.set(node.pendingEffects()) } })
  // counts kept elsewhere since the node started: read whole at each scrape
  new Counter({
    name: 'lilypad_untaken_messages_total',
    help: 'Messages no machine of this node took (refused, or none of their business)',
    registers,
    collect () {
      this.reset()
      this.inc(node.untakenMessages())
    }
  })
  new Counter({
    name: 'lilypad_gossip_validations_total',
    help: 'Gossip messages validated, by topic, result (accept, reject, ignore) and code (OK for accepted ones)',
    labelNames: ['topic', 'result', 'code'],
    registers,
    collect () {
      this.reset()
      for (const { topic, result, code, count } of node.validation()) this.inc({ topic, result, code }, count)
    }
  })
  new Counter({
    name: 'lilypad_runs_ahead_total',
    help: 'A provider\'s runs started on a proposal, ahead of the deal, by outcome: started, taken (by the deal\'s run), stopped (no deal took it, or it failed), refused (not started: the creator left too many unsigned, or too many were under way)',
    labelNames: ['outcome'],
    registers,
    collect () {
      this.reset()
      const counts = node.runsAhead()
      if (counts === undefined) return
      for (const [outcome, count] of Object.entries(counts)) this.inc({ outcome }, count)
    }
  })
}
