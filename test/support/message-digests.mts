// Prints, for each message of the test scenario, its parsed JSON text and its id: a test runs this with
// code generation from strings off and compares with a run with it on.
import { messageId, parsePayload } from '../../src/protocols/messages/index.ts'
import type { MessageType } from '../../src/protocols/messages/eip712-types.ts'
import { domain, scenario } from '../unit/state-machines/fixtures.ts'

const s = scenario()
const messages: Array<[MessageType, object]> = [
  ['JobOffer', s.job], ['ResourceOffer', s.offer], ['MatchProposal', s.prop], ['Deal', s.deal],
  ['ResultsSubmitted', s.results.message], ['ResultsAccepted', s.accepted.message], ['ResultsChallenged', s.challenged.message]
]
const out = messages.map(([type, message]) => {
  const parsed = parsePayload(type, JSON.parse(JSON.stringify(message)) as never)
  return [type, JSON.stringify(parsed), messageId(domain, type, parsed as never)]
})
console.log(JSON.stringify(out))
