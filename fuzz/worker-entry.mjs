// Worker-thread entry of one fuzz target: worker threads do not inherit the tsx loader of the
// process that starts them, so this registers it before loading the TypeScript.
import { register } from 'tsx/esm/api'

register()
await import('./worker.ts')
