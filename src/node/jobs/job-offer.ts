import type { LoadedModule } from '../../executor/modules/load.ts'
import type { JobOffer } from '../../protocols/messages/schemas.ts'
import { DEFAULTS } from '../settings.ts'

/**
 * How long the parties have to sign a deal once matched, unless the job says otherwise: the provider
 * fetches the module and pulls its image in this time, before it co-signs.
 */
export const DEFAULT_AGREE_WITHIN_MS = 30_000

/** The job offer for a loaded module: its pinned commit and spec hash, its machine, our terms. */
export function jobOfferFor (module: LoadedModule, inputs: Record<string, string>, o: {
  author: string, now: number, solvers: string[], mediators: string[], maxPrice: bigint, matchWithinMs: number, submitWithinMs: number
  agreeWithinMs?: number, judgeWithinMs?: number, mediateWithinMs?: number
  /** how many matching verdicts settle a challenge (default 1: the one judge the chain draws) */
  quorum?: number
  /** the image the module's spec names by tag, pinned by digest ('' when the spec pins it, or runs no image) */
  image?: string
  /** input data this node serves, mounted read-only at /inputs ('' or absent: none) */
  inputsCid?: string
  /** the spec's URL inputs, pinned: canonical JSON {url: CID} ('' or absent: none) */
  urlPins?: string
  /** the offer's nonce (default: `now`); a job asked for on chain uses its request id */
  nonce?: string
}): JobOffer {
  const machine = module.spec.machine
  const maxSolverFee = BigInt(DEFAULTS.solverFee) * 10n
  const quorum = o.quorum ?? 1
  // a quorum deal pays each of the k mediators whose verdicts settle it
  const mediatorFee = BigInt(DEFAULTS.mediatorFee) * 10n * BigInt(quorum)
  return {
    author: o.author,
    nonce: o.nonce ?? String(o.now),
    expiry: o.now + o.matchWithinMs,
    moduleRepo: module.repo,
    moduleCommit: module.commit,
    modulePath: module.templatePath,
    specHash: module.specHash,
    inputs: JSON.stringify(inputs),
    image: o.image ?? '',
    inputsCid: o.inputsCid ?? '',
    urlPins: o.urlPins ?? '',
    cpu: Math.max(0, Math.round(machine.cpu)),
    gpu: machine.gpu,
    gpuVramMb: Math.max(0, ...machine.gpus.map(g => g.vram)),
    ramMb: Math.max(0, Math.round(machine.ram)),
    diskMb: Math.max(0, Math.round(machine.disk)),
    maxPrice: o.maxPrice.toString(),
    maxSolverFee: maxSolverFee.toString(),
    paymentCollateral: (o.maxPrice + maxSolverFee + mediatorFee).toString(),
    timeoutCollateral: BigInt(DEFAULTS.timeoutCollateral).toString(),
    trustedMediators: o.mediators,
    quorum,
    trustedSolvers: o.solvers,
    matchDeadline: o.now + o.matchWithinMs,
    agreeWithin: o.agreeWithinMs ?? DEFAULT_AGREE_WITHIN_MS,
    submitWithin: o.submitWithinMs,
    judgeWithin: o.judgeWithinMs ?? 60_000,
    mediateWithin: o.mediateWithinMs ?? 120_000
  }
}
