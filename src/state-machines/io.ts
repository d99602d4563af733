/**
 * The vocabulary between the role machines and the actor runtime (see contract.ts for the rules).
 *
 * Outputs (handler name → what the runtime does; every output has a deterministic `id`):
 * - `message.publish` {messageType, message, topic}: sign `message` as its author, gossip it on `topic`.
 * - `message.send` {messageType, message, to[], signatures?, attach?, topic?}: sign (for a Deal, add this
 *   node's signature after `signatures`), send directly to each address in `to`; `attach` lists ids of
 *   signed messages from the log to send along as `attachments`; `topic`, if set, gossips it too.
 * - `job.run` {dealId, purpose: 'execute'|'verify'|'mediate', job}: run the job offer's module; answer with
 *   `job.finished` {effect, resultsCid, exitCode, cpuMs, durationMs}.
 * - `results.fetch` {dealId, resultsCid, from}: fetch results by CID and verify them; answer with
 *   `results.fetched` {effect, ok}.
 * - `results.provide` {dealId, resultsCid, to}: make the results fetchable by `to`.
 * - `chain.settle` {dealId, outcome, evidence[]}, `chain.claim` {dealId, claim, evidence[]},
 *   `chain.challenge` {dealId, mediator, evidence[]}, `chain.commitResults` {dealId, resultsCid}:
 *   settlement transactions; `evidence` lists ids of signed messages (or of outputs that produced one).
 * - `deal.outcome` {dealId, outcome, payouts}: the deal machine's report of who is owed what (wei strings).
 * - `input.rejected` {code, reason, eventType, messageType?}: an input that changed nothing; the runtime
 *   may penalise the peer that sent it.
 *
 * Inputs (besides `timer.fired`): `message.received` {envelope, attachments?}, the effect results above,
 * and `chain.settled` {dealId} for the deal machine.
 */
export const OUTPUT_TYPES = [
  'message.publish',
  'message.send',
  'job.run',
  'results.fetch',
  'results.provide',
  'chain.settle',
  'chain.claim',
  'chain.challenge',
  'chain.commitResults',
  'deal.outcome',
  'input.rejected'
] as const

export type OutputType = typeof OUTPUT_TYPES[number]

export const INPUT_EVENT_TYPES = ['message.received', 'timer.fired', 'job.finished', 'results.fetched', 'chain.settled'] as const

export type InputEventType = typeof INPUT_EVENT_TYPES[number]
