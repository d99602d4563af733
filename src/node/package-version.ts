import { readFileSync } from 'node:fs'

/** The version of the package this node comes from. */
export function packageVersion (): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
}
