/**
 * `npm run adversary`: plays every strategy against an honest party on a real chain and prints one
 * row per strategy; exits non-zero when any honest party got less than DESIGN §6 owes it.
 */
import { formatRow, playAll } from './matrix.ts'
import { STRATEGIES } from './strategies.ts'

const only = process.argv.slice(2).join(' ').toLowerCase()
const chosen = STRATEGIES.filter(s => only === '' || s.name.toLowerCase().includes(only))
console.log('strategy | honest party | its DESIGN §6 payout | what it got | held')
try {
  const rows = await playAll(chosen, row => { console.log(formatRow(row)) })
  const held = rows.filter(r => r.held).length
  console.log(`adversary: ${rows.length} strategies, ${held} held`)
  process.exitCode = held === rows.length ? 0 : 1
} catch (err) {
  console.error(`adversary: ${(err as Error).message}`)
  process.exitCode = 2
}
