#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so a fresh clone works right after `npm ci`
// with no build step and the command always matches the source.
import { register } from 'tsx/esm/api'

register()
await import('../src/polyfills.ts')
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv)
