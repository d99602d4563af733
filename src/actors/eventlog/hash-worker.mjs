// Checks the hashes of pages of stored log records for HashChecker (hash-checker.ts), on a thread of
// its own. Plain JavaScript: a worker is started by Node itself, outside any TypeScript loader.
import { hash } from 'node:crypto'
import { parentPort } from 'node:worker_threads'

const HASH_MEMBER = '"hash":"'
const HASH_HEX_LENGTH = 64
const HASH_MEMBER_LENGTH = HASH_MEMBER.length + HASH_HEX_LENGTH + 2

/** storedHashHolds of record.ts, line for line (hash-checker.test.ts holds the two to each other) */
function holds (stored) {
  const at = stored.lastIndexOf(HASH_MEMBER)
  const stated = stored.slice(at + HASH_MEMBER.length, at + HASH_MEMBER.length + HASH_HEX_LENGTH)
  return at >= 0 && hash('sha256', stored.slice(0, at) + stored.slice(at + HASH_MEMBER_LENGTH), 'hex') === stated
}

/** a page of stored texts in, the index of the first whose hash does not hold out (-1: none) */
parentPort.on('message', (texts) => {
  parentPort.postMessage(texts.findIndex(text => !holds(text)))
})
parentPort.postMessage('listening')
