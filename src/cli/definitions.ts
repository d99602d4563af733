import type { ActorDefinition } from '../actors/runtime/driver.ts'
import { machines } from '../state-machines/index.ts'

/** The machines a node runs, by the names its log refers to them by. */
export function roleDefinitions (): Record<string, ActorDefinition> {
  return machines
}
