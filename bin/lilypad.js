#!/usr/bin/env node
// A clone runs its TypeScript sources through tsx (a development dependency), so the command always
// matches the source with no build step; the published package, which carries no sources, runs the
// JavaScript built before publishing (dist/, `npm run build`).
import { existsSync } from 'node:fs'

let main
if (existsSync(new URL('../src/cli/main.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../src/polyfills.ts')
  ;({ main } = await import('../src/cli/main.ts'))
} else {
  await import('../dist/src/polyfills.js')
  ;({ main } = await import('../dist/src/cli/main.js'))
}
process.exitCode = await main(process.argv)
