import js from '@eslint/js'
import tseslint from 'typescript-eslint'

// Machines are pure: no I/O, no clock, no randomness. Anything that could reach the outside world
// is banned from src/state-machines (and messages, which are pure too).
const impureModules = [
  'fs', 'fs/promises', 'node:fs', 'node:fs/promises', 'net', 'node:net', 'http', 'node:http', 'https', 'node:https',
  'child_process', 'node:child_process', 'dgram', 'node:dgram', 'os', 'node:os', 'worker_threads', 'node:worker_threads',
  'level', 'classic-level', 'dockerode', 'libp2p', 'pino'
]
const impurePackages = ['@libp2p/*', '@chainsafe/*', 'helia', '@helia/*']

// The layers of DESIGN §3 and what each may import of ours: nothing imports upward.
// src/support holds helpers with effects (waiting, retrying) that import nothing of ours.
const LAYERS = {
  'state-machines': ['protocols/messages'],
  'protocols/messages': [],
  support: [],
  'protocols/mesh': ['protocols/messages', 'support'],
  executor: ['protocols/messages', 'support'],
  settlement: ['protocols/messages', 'state-machines', 'support'],
  actors: ['state-machines', 'protocols/messages', 'protocols/mesh', 'executor', 'settlement', 'support'],
  node: ['state-machines', 'protocols/messages', 'protocols/mesh', 'executor', 'settlement', 'actors', 'support'],
  // what the CLI (and a program) uses to have a node run jobs: over its HTTP API
  client: ['state-machines', 'protocols/messages', 'protocols/mesh', 'executor', 'settlement', 'actors', 'support', 'node'],
  // a local network of node processes, for the demo, the tests and `lilypad devnet`
  devnet: ['state-machines', 'protocols/messages', 'protocols/mesh', 'executor', 'settlement', 'actors', 'support', 'node']
}
const ALL_LAYERS = [...Object.keys(LAYERS), 'cli']

/** Import patterns for the layers `from` may not import. */
function forbiddenFor (from, allowed) {
  return ALL_LAYERS
    .filter(layer => layer !== from && !allowed.includes(layer))
    .map(layer => ({
      // within src/protocols a sibling is imported as ../mesh or ../messages
      group: [`**/${layer}/**`, ...(from.startsWith('protocols/') && layer.startsWith('protocols/') ? [`../${layer.slice('protocols/'.length)}/**`] : [])],
      message: `src/${from} may not import src/${layer} (DESIGN §3: nothing imports upward)`
    }))
}

const pure = new Set(['state-machines', 'protocols/messages'])
const layerRules = Object.entries(LAYERS).map(([from, allowed]) => ({
  files: [`src/${from}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      paths: pure.has(from) ? impureModules : [],
      patterns: [
        ...(pure.has(from) ? [{ group: impurePackages, message: 'Machines and messages are pure: no I/O.' }] : []),
        ...forbiddenFor(from, allowed),
        { group: ['**/sim/**'], message: 'src/ may not import the simulator' }
      ]
    }]
  }
}))
const simRule = {
  files: ['sim/**/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: ['actors', 'executor', 'settlement', 'node', 'cli', 'protocols/mesh'].map(layer => ({
        group: [`**/src/${layer}/**`],
        message: `sim/ imports machines and messages only (DESIGN §3), not src/${layer}`
      }))
    }]
  }
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'contracts/build/**', 'coverage/**', '.data/**', '.scratch*', '.scratch*/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', performance: 'readonly' } }
  },
  {
    // the dashboard's script runs in the browser
    files: ['src/dashboard/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(['window', 'document', 'location', 'history', 'sessionStorage', 'fetch', 'URLSearchParams', 'TextDecoder', 'FormData', 'Node', 'setTimeout', 'setInterval'].map(name => [name, 'readonly']))
    }
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error'
    }
  },
  {
    // type-aware: a promise nobody awaits loses its error, and one passed where a callback returns
    // nothing is never awaited
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'sim/**/*.ts', 'adversary/**/*.ts', 'fuzz/**/*.ts', 'bin/**/*.ts', 'contracts/**/*.ts', '*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error'
    }
  },
  ...layerRules,
  simRule,
  {
    files: ['src/state-machines/**/*.ts', 'src/protocols/messages/**/*.ts'],
    rules: {
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
