// A node whose effect is interrupted by SIGKILL: `before` hangs before the effect's outside
// consequence, `after` hangs after it but before its result is logged.
import { EventLog } from '../../src/actors/eventlog/event-log.ts'
import { ActorRuntime } from '../../src/actors/runtime/actor-runtime.ts'
import { testDefinitions } from './job-machine.ts'
import { idempotentWork } from './idempotent-work.ts'

const [dir, marks, mode] = process.argv.slice(2) as [string, string, 'before' | 'after']
const hang = async (): Promise<never> => {
  process.stdout.write('in-effect\n')
  return await new Promise<never>(() => {})
}
const work = mode === 'before' ? hang : idempotentWork(marks, { afterEffect: hang })
const log = await EventLog.open(dir)
const runtime = await ActorRuntime.start({}, { log, definitions: testDefinitions, effects: { work, 'send.message': async () => {} } })
await runtime.spawn('job:c', 'test-job', { job: 'c', timeoutMs: 3_600_000 })
await runtime.send('job:c', { type: 'start', payload: 'moo' })
