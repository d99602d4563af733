/** One simulation run from a configuration: build the world, install the accelerators, run, summarise. */
import type { SimConfig } from './config.ts'
import { makeIdentities } from './identities.ts'
import { installAccelerators } from './signatures.ts'
import { summarize, type Summary } from './summary.ts'
import { World } from './world.ts'

export function simulate (config: SimConfig): { summary: Summary, world: World } {
  const p = config.population
  const identities = makeIdentities(p.solvers + p.mediators + p.providers + p.creators)
  const uninstall = installAccelerators(config.signatures === 'fast' ? { identities } : {})
  try {
    const world = new World(config, identities)
    world.run()
    return { summary: summarize(world), world }
  } finally {
    uninstall()
  }
}
