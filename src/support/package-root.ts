import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const NAME = 'lilypad-p2p'

function isPackageRoot (dir: string): boolean {
  const file = join(dir, 'package.json')
  if (!existsSync(file)) return false
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === NAME
  } catch {
    return false
  }
}

function findPackageRoot (from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (isPackageRoot(dir)) return dir
    if (dirname(dir) === dir) throw new Error(`no package.json of ${NAME} above ${from}`)
  }
}

/**
 * The folder of this package (its package.json, bin/, contracts/, modules/), found from wherever its
 * code runs: src/ when run through tsx, dist/src/ once compiled, both at different depths.
 */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)))
