import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Bytes of the files under `path` (links not followed); 0 for a path that is not there. */
export async function dirSize (path: string): Promise<number> {
  let st
  try {
    st = await lstat(path)
  } catch {
    return 0
  }
  if (!st.isDirectory()) return st.size
  let entries: string[]
  try {
    entries = await readdir(path)
  } catch {
    return 0
  }
  let total = 0
  for (const e of entries) total += await dirSize(join(path, e))
  return total
}
