import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'contracts/test/**/*.test.ts', 'sim/**/*.test.ts'],
    // the fault suite (kills and restarts nodes on widened deadlines, ~6–8 min) is not yet reliable
    // on a loaded 2-core machine: it runs with `npm run test:faults`
    exclude: process.env.LILYPAD_FAULTS === '1' ? [] : ['test/e2e/faults/**'],
    setupFiles: ['src/polyfills.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks'
  }
})
