// Appends batches of 10 records forever; the test kills it with SIGKILL mid-loop.
import { EventLog } from '../../src/actors/eventlog/event-log.ts'

const log = await EventLog.open(process.argv[2]!)
for (let batch = 0; ; batch++) {
  await log.append(Array.from({ length: 10 }, (_, i) => ({ type: 'w', data: { batch, i, pad: 'x'.repeat(100) } })))
  if (batch === 0) process.stdout.write('ready\n')
}
