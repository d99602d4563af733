import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// Machines are pure: no I/O, no clock, no randomness. Anything that could reach the outside world
// is banned from src/state-machines (and messages, which are pure too).
const impureModules = [
  'fs', 'fs/promises', 'node:fs', 'node:fs/promises', 'net', 'node:net', 'http', 'node:http', 'https', 'node:https',
  'child_process', 'node:child_process', 'dgram', 'node:dgram', 'os', 'node:os', 'worker_threads', 'node:worker_threads',
  'level', 'classic-level', 'dockerode', 'libp2p', 'pino'
]
const impurePatterns = ['@libp2p/*', '@chainsafe/*', 'helia', '@helia/*', '**/actors/**', '**/executor/**', '**/settlement/**', '**/node/**', '**/cli/**', '**/protocols/mesh/**']

export default tseslint.config(
  { ignores: ['node_modules/**', 'contracts/build/**', 'coverage/**', '.data/**', '.scratch*', '.scratch*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', performance: 'readonly' } }
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error'
    }
  },
  {
    files: ['src/state-machines/**/*.ts', 'src/protocols/messages/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: impureModules, patterns: impurePatterns }],
      'no-restricted-globals': ['error',
        { name: 'Date', message: 'Machines are pure: time arrives inside events.' },
        { name: 'setTimeout', message: 'Machines are pure: the runtime arms timers.' },
        { name: 'setInterval', message: 'Machines are pure: the runtime arms timers.' },
        { name: 'fetch', message: 'Machines are pure: no I/O.' },
        { name: 'process', message: 'Machines are pure: no environment.' }],
      'no-restricted-properties': ['error',
        { object: 'Math', property: 'random', message: 'Machines are pure: randomness arrives inside events.' },
        { object: 'crypto', property: 'getRandomValues', message: 'Machines are pure.' },
        { object: 'crypto', property: 'randomUUID', message: 'Machines are pure.' }]
    }
  }
)
