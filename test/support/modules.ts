// The demo modules are built by the same code the demo uses.
export * from '../../src/cli/demo/demo-modules.ts'
