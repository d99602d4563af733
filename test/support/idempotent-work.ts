import { appendFile, writeFile, access } from 'node:fs/promises'
import { join } from 'node:path'
import type { EffectHandler } from '../../src/actors/runtime/actor-runtime.ts'

/**
 * An effect with an outside consequence (a line in effects.log), made idempotent by output id the
 * way real handlers are (a container named by job id, a message id): a second call for the same id
 * finds the first one's mark and returns the same result without doing it again.
 */
export function idempotentWork (dir: string, hooks: { afterEffect?: () => Promise<void> } = {}): EffectHandler {
  return async (output) => {
    const done = join(dir, `done-${output.id}`)
    const already = await access(done).then(() => true, () => false)
    if (!already) {
      await appendFile(join(dir, 'effects.log'), `${output.id}\n`)
      await writeFile(done, 'ok')
    }
    await hooks.afterEffect?.()
    return { type: 'work.done', result: `did ${String(output.payload)}` }
  }
}
