/** One simulation run from a configuration: build the world, install the accelerators, run, summarise. */
import type { SimConfig } from './config.ts'
import { makeIdentities } from './identities.ts'
import { installAccelerators } from './signatures.ts'
import { summarize, type Summary } from './summary.ts'
import { World } from './world.ts'

export function simulate (config: SimConfig, options: { progress?: (arrived: number, total: number) => void } = {}): { summary: Summary, world: World } {
  const p = config.population
  const identities = makeIdentities(p.solvers + p.mediators + p.providers + p.creators)
  const uninstall = installAccelerators(config.signatures === 'fast' ? { identities } : {})
  try {
    const world = new World(config, identities)
    if (options.progress !== undefined) world.onProgress = options.progress
    world.run()
    return { summary: summarize(world), world }
  } finally {
    uninstall()
  }
}
