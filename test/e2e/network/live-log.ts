import { cp, mkdir, rm } from 'node:fs/promises'
import { basename, join } from 'node:path'

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Copies the event log folder of a node that is still running, so that it can be audited beside
 * it: LevelDB lets one process open a folder. The copy holds every record written before it began
 * (appends are atomic batches; a batch cut short at the tail is dropped on open). A table file
 * removed by a compaction during the copy makes it fail, and then it is taken again.
 */
export async function copyLiveLog (dataDir: string, into: string, attempts = 5): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    await rm(into, { recursive: true, force: true })
    await mkdir(into, { recursive: true })
    try {
      await cp(join(dataDir, 'log'), into, { recursive: true, filter: (source) => basename(source) !== 'LOCK' })
      return into
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= attempts) throw err
      await sleep(50)
    }
  }
}
