import type { ActorDefinition } from '../actors/runtime/driver.ts'

/** The machines a node runs, by name, as logs refer to them. Filled in as the role machines land. */
export function roleDefinitions (): Record<string, ActorDefinition> {
  return {}
}
