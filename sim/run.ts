/** One simulation run from a configuration: build the world and the messages its parties share, run, summarise. */
import type { SimConfig } from './config.ts'
import { makeIdentities } from './identities.ts'
import { simMessages } from './signatures.ts'
import { summarize, type Summary } from './summary.ts'
import { World } from './world.ts'

export function simulate (config: SimConfig, options: { progress?: (arrived: number, total: number) => void } = {}): { summary: Summary, world: World } {
  const p = config.population
  const identities = makeIdentities(p.solvers + p.mediators + p.providers + p.creators)
  const world = new World(config, identities, simMessages(config.signatures, identities))
  if (options.progress !== undefined) world.onProgress = options.progress
  world.run()
  return { summary: summarize(world), world }
}
