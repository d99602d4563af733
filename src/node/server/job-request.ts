/**
 * What `POST /jobs` takes: the options of `lilypad run` as JSON. `parseJobRequest` checks every
 * field and throws a BadRequest with a one-line reason for the first that is wrong.
 */
import { DEFAULT_MEDIATION_CHANCE } from '../jobs/check-rate.ts'
import { LIMITS } from '../../protocols/messages/fields.ts'

export interface JobRequest {
  /** `cowsay:v0.0.1`, `github.com/owner/repo:ref`, or a local repository path:ref */
  module: string
  inputs: Record<string, string>
  /** the chance, in percent (0 to 100), that the results are re-run to check them (default DEFAULT_MEDIATION_CHANCE) */
  mediationChance: number
  /** the most this job may cost, in wei (a decimal string) */
  maxPrice?: string
  /** how long to look for a provider before giving up */
  matchWithinMs?: number
  /** how long the parties have to sign once matched: the provider's module fetch and image pull */
  agreeWithinMs?: number
  /** how long the provider has to submit results (default: the module's timeout and margins) */
  submitWithinMs?: number
  /** an absolute path on the node's machine: a folder of input data the job mounts at /inputs */
  inputsPath?: string
  /** how many of the deal's mediators must agree to settle a challenge (default 1) */
  quorum?: number
}

export class BadRequest extends Error {
  override readonly name = 'BadRequest'
}

const FIELDS = new Set(['module', 'inputs', 'mediationChance', 'maxPrice', 'matchWithinMs', 'agreeWithinMs', 'submitWithinMs', 'inputsPath', 'quorum'])
const DAY_MS = 86_400_000

export function parseJobRequest (body: unknown): JobRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the body must be a JSON object')
  const fields = body as Record<string, unknown>
  const unknown = Object.keys(fields).find(key => !FIELDS.has(key))
  if (unknown !== undefined) throw new BadRequest(`unknown field ${JSON.stringify(unknown)}`)
  const { module, inputs = {}, mediationChance = DEFAULT_MEDIATION_CHANCE, maxPrice, matchWithinMs, agreeWithinMs, submitWithinMs, inputsPath, quorum } = fields
  if (typeof module !== 'string' || module.trim() === '') throw new BadRequest('module must be a module reference such as cowsay:v0.0.1')
  if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) throw new BadRequest('inputs must be an object of strings')
  for (const [key, value] of Object.entries(inputs)) {
    if (key === '' || typeof value !== 'string') throw new BadRequest(`input ${JSON.stringify(key)} must be a non-empty name with a string value`)
  }
  if (typeof mediationChance !== 'number' || !(mediationChance >= 0 && mediationChance <= 100)) throw new BadRequest('mediationChance must be a percentage, from 0 to 100')
  if (maxPrice !== undefined && (typeof maxPrice !== 'string' || !/^[0-9]{1,78}$/.test(maxPrice))) throw new BadRequest('maxPrice must be a whole number of wei, as a decimal string')
  if (matchWithinMs !== undefined && (typeof matchWithinMs !== 'number' || !Number.isInteger(matchWithinMs) || matchWithinMs <= 0 || matchWithinMs > DAY_MS)) {
    throw new BadRequest('matchWithinMs must be a whole number of milliseconds, at most a day')
  }
  if (agreeWithinMs !== undefined && (typeof agreeWithinMs !== 'number' || !Number.isInteger(agreeWithinMs) || agreeWithinMs <= 0 || agreeWithinMs > DAY_MS)) {
    throw new BadRequest('agreeWithinMs must be a whole number of milliseconds, at most a day')
  }
  if (submitWithinMs !== undefined && (typeof submitWithinMs !== 'number' || !Number.isInteger(submitWithinMs) || submitWithinMs <= 0)) {
    throw new BadRequest('submitWithinMs must be a whole number of milliseconds')
  }
  if (inputsPath !== undefined && (typeof inputsPath !== 'string' || !inputsPath.startsWith('/') || inputsPath.length > 4096)) {
    throw new BadRequest('inputsPath must be an absolute path on the node\'s machine')
  }
  if (quorum !== undefined && (typeof quorum !== 'number' || !Number.isInteger(quorum) || quorum < 1 || quorum > LIMITS.mediators)) {
    throw new BadRequest(`quorum must be a whole number of mediators, from 1 to ${LIMITS.mediators}`)
  }
  return { module, inputs: inputs as Record<string, string>, mediationChance, maxPrice, matchWithinMs, agreeWithinMs, submitWithinMs, inputsPath, quorum }
}
