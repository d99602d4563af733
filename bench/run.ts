// npm run bench -- [group...]: runs each group's bench/<group>.ts, which prints one JSON line a figure.
import '../src/polyfills.ts'

const groups = ['eventlog', 'audit', 'matching', 'gossip', 'executor', 'gas', 'e2e', 'flood', 'sim', 'metrics', 'transfer'] as const
const asked = process.argv.slice(2).filter(a => !a.startsWith('-'))
const unknown = asked.filter(a => !(groups as readonly string[]).includes(a))
if (unknown.length > 0) {
  process.stderr.write(`unknown bench group: ${unknown.join(', ')} (groups: ${groups.join(', ')})\n`)
  process.exit(2)
}

let failed = false
for (const group of asked.length > 0 ? asked : groups) {
  let mod: { run: () => Promise<void> }
  try {
    mod = await import(`./${group}.ts`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String(err).includes(`${group}.ts`)) {
      process.stderr.write(`bench ${group}: not built yet\n`)
      continue
    }
    throw err
  }
  try {
    await mod.run()
  } catch (err) {
    failed = true
    process.stderr.write(`bench ${group} failed: ${(err as Error).stack ?? String(err)}\n`)
  }
}
process.exit(failed ? 1 : 0)
