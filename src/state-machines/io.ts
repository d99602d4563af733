/**
 * The vocabulary between the role machines and the actor runtime (see contract.ts for the rules).
 *
 * Outputs (handler name → what the runtime does; every output has a deterministic `id`):
 * - `message.publish` {messageType, message, topic}: sign `message` as its author, gossip it on `topic`.
 * - `message.send` {messageType, message, to[], signatures?, attach?, topic?}: sign (for a Deal, add this
 *   node's signature after `signatures`), send directly to each address in `to`; `attach` lists ids of
 *   signed messages from the log to send along as `attachments`; `topic`, if set, gossips it too.
 * - `message.forward` {message, to[], attach?}: deliver a signed message kept before, as it was signed.
 * - `job.prepare` {dealId, job, maxDurationMs}: make sure the job can run here before signing (module,
 *   spec hash, image, timeout); answer with `job.prepared` {effect, ok, failure?, reason?}.
 * - `job.warm` {job, until}: start running a job offer's module ahead of its deal (a provider, on the
 *   first proposal for a free slot); a `job.run` of the same offer takes the run under way, and one
 *   no deal takes by `until` is dropped. No answer.
 * - `job.run` {dealId, purpose: 'execute'|'verify'|'mediate', job}: run the job offer's module; answer with
 *   `job.finished` {effect, resultsCid, exitCode, cpuMs, durationMs}. A job that cannot run answers
 *   with the CID of a deterministic failed-run result, which every party's run reproduces.
 * - `results.fetch` {dealId, resultsCid, from}: fetch results by CID and verify them; answer with
 *   `results.fetched` {effect, ok}.
 * - `results.provide` {dealId, resultsCid, to[]}: make the results fetchable by `to`.
 * - `chain.settle` {dealId, outcome, evidence[]}, `chain.claim` {dealId, claim, evidence[]},
 *   `chain.challenge` {dealId, evidence[]}, `chain.commitResults` {dealId, resultsCid}:
 *   settlement transactions; `evidence` lists ids of signed messages (or of outputs that produced one).
 *   A claim answers with `chain.settled` {dealId, outcome}, or, when the chain shows the creator's
 *   challenge instead, `chain.challenged` {dealId, envelope} (the challenge as posted), or, when it shows
 *   the provider's commitment, `chain.committed` {dealId, envelope} (the results as committed).
 * - `chain.takeCase` {dealId}: the judge the chain drew takes the case (it answers for the mediate
 *   deadline from then on, and only a case taken settles by a verdict); no answer but a failure.
 * - `chain.watch` {dealId}: read the deal's record; answer with `chain.observed` {dealId, state, outcome?, mediator?,
 *   caseTaken?, resultsCidHash?}: the hash of the results on record, once committed or challenged; the
 *   judge of a deal in mediation, the mediator that took the case or the one drawn to take it next,
 *   and whether it took it.
 * - `chain.readDeposit` {account, dealId}: read a deposit; answer with `chain.deposit` {balance,
 *   withdrawing, lockedWithOthers, lockedWithUs}: what the open deals the node has seen lock of it.
 * - `deal.declined` {dealId, reason}: a deal this node walked away from before signing it.
 * - `input.rejected` {code, reason, eventType, messageType?}: an input that changed nothing; the runtime
 *   may penalise the peer that sent it.
 *
 * Inputs (besides `timer.fired`): `message.received` {envelope, attachments?}, the effect results above,
 * and `effect.failed` {effect, error} for an effect that could not be carried out.
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
  'chain.takeCase',
  'chain.commitResults',
  'chain.watch',
  'chain.readDeposit',
  'message.forward',
  'job.prepare',
  'job.warm',
  'deal.declined',
  'input.rejected'
] as const

export type OutputType = typeof OUTPUT_TYPES[number]

export const INPUT_EVENT_TYPES = [
  'message.received', 'timer.fired', 'job.prepared', 'job.finished', 'results.fetched',
  'chain.settled', 'chain.challenged', 'chain.committed', 'chain.observed', 'chain.deposit', 'effect.failed'
] as const

export type InputEventType = typeof INPUT_EVENT_TYPES[number]
